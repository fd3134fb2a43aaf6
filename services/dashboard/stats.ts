// GET /api/v1/stats: events per day, client, source and form, each source's last event, patients
// and dead letters. Event counts come from the Redis counters the projector keeps
// (shared/stats.ts); when they are not trusted (Redis restarted empty, a batch the projector
// could not count, hourly expiry) they are rebuilt from webhook_events and written back, and
// with Redis away the answer is computed from Postgres alone. `from` says which.
//
// Counters are kept by source; a source's client comes from the sources table at read time, so
// a client-scoped token (whose queries run under row-level security, scope.ts) sees its own
// sources' counts only, and no dead-letter counts (the DLQ does not know clients).
import { Elysia } from "elysia";
import type { Sql } from "postgres";
import * as v from "valibot";
import type { Redis } from "../../shared/cache.ts";
import { countDeadLettersBySubject } from "../../shared/dead-letters.ts";
import { errorResponse, json } from "../../shared/http/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import {
  dayRange,
  pairField,
  parsePairField,
  readStatsCounters,
  STATS_DAYS_KEPT,
  type StatsCounters,
  writeStatsCounters,
} from "../../shared/stats.ts";
import { callerOf } from "./audit.ts";
import type { NatsLink } from "./nats-link.ts";
import { routeDoc } from "./route-doc.ts";
import { isScoped, withScope } from "./scope.ts";

export interface StatsDeps {
  sql: Sql;
  redis: Redis;
  nats?: NatsLink;
  log: Logger;
}

/** A source's client as the caller may see it; sources of the sources file have none (null). */
interface SourceOwner {
  clientId: string | null;
}

export interface StatsDto {
  from: "redis" | "postgres";
  days: string[];
  totals: { events: number; patients: number; deadLetters: number | null };
  perDay: { day: string; events: number }[];
  perClient: { clientId: string | null; name: string | null; events: number }[];
  perSource: { source: string; clientId: string | null; events: number; lastEventAt: string | null }[];
  perForm: { source: string; formId: string | null; events: number }[];
  daily: { day: string; source: string; formId: string | null; events: number }[];
  deadLetters: { total: number; byStage: Record<string, number>; bySource: Record<string, number> } | null;
}

/**
 * The answer from counters: `owners` holds every source the caller may see with its client
 * (unscoped callers: null for sources no client owns); `scoped` drops every source not in it.
 */
function summarize(
  counters: StatsCounters,
  days: string[],
  owners: Map<string, SourceOwner>,
  clients: Map<string, string>,
  scoped: boolean,
): Omit<StatsDto, "from" | "totals" | "deadLetters"> & { events: number } {
  const visible = (source: string) => !scoped || owners.has(source);
  const perDay = days.map((day) => ({ day, events: 0 }));
  const bySource = new Map<string, number>();
  const byForm = new Map<string, number>();
  const daily: StatsDto["daily"] = [];
  let events = 0;
  days.forEach((day, i) => {
    for (const [field, n] of counters.days.get(day) ?? []) {
      const { source, formId } = parsePairField(field);
      if (!visible(source) || n <= 0) continue;
      events += n;
      perDay[i]!.events += n;
      bySource.set(source, (bySource.get(source) ?? 0) + n);
      byForm.set(field, (byForm.get(field) ?? 0) + n);
      daily.push({ day, source, formId, events: n });
    }
  });
  const sources = new Set([...bySource.keys(), ...[...counters.last.keys()].filter(visible), ...owners.keys()]);
  const perSource = [...sources].sort().map((source) => {
    const last = counters.last.get(source);
    return {
      source,
      clientId: owners.get(source)?.clientId ?? null,
      events: bySource.get(source) ?? 0,
      lastEventAt: last ? new Date(last).toISOString() : null,
    };
  });
  const byClient = new Map<string | null, number>([...clients.keys()].map((id) => [id, 0]));
  for (const s of perSource) byClient.set(s.clientId, (byClient.get(s.clientId) ?? 0) + s.events);
  if (scoped) byClient.delete(null);
  const perClient = [...byClient].map(([clientId, n]) => ({
    clientId,
    name: clientId === null ? null : (clients.get(clientId) ?? null),
    events: n,
  }));
  const perForm = [...byForm].map(([field, n]) => ({ ...parsePairField(field), events: n }));
  return { days, events, perDay, perClient, perSource, perForm, daily };
}

/** Counters computed from webhook_events for the days from `since` (unscoped: all of them). */
async function countersFromPostgres(sql: Sql, since: string): Promise<StatsCounters> {
  const rows = await sql<{ day: string; source: string; form_id: string | null; n: number; last: Date }[]>`
    select to_char(received_at at time zone 'UTC', 'YYYY-MM-DD') as day, source, form_id,
      count(*)::int as n, max(received_at) as last
    from webhook_events
    where received_at >= ${since}::date::timestamp at time zone 'UTC'
    group by 1, 2, 3`;
  const days = new Map<string, Map<string, number>>();
  const last = new Map<string, number>();
  for (const r of rows) {
    const fields = days.get(r.day) ?? new Map<string, number>();
    days.set(r.day, fields);
    fields.set(pairField(r.source, r.form_id), r.n);
    last.set(r.source, Math.max(last.get(r.source) ?? 0, r.last.getTime()));
  }
  return { days, last };
}

const DAYS = /^\d{1,3}$/;

const count = v.pipe(v.number(), v.integer());
const day = v.pipe(v.string(), v.isoDate());
const StatsSchema = v.object({
  from: v.pipe(
    v.picklist(["redis", "postgres"]),
    v.description("counted by the projector, or counted in Postgres now"),
  ),
  days: v.array(day),
  totals: v.object({ events: count, patients: count, deadLetters: v.nullable(count) }),
  perDay: v.array(v.object({ day, events: count })),
  perClient: v.array(v.object({ clientId: v.nullable(v.string()), name: v.nullable(v.string()), events: count })),
  perSource: v.array(
    v.object({
      source: v.string(),
      clientId: v.nullable(v.string()),
      events: count,
      lastEventAt: v.nullable(v.pipe(v.string(), v.isoTimestamp())),
    }),
  ),
  perForm: v.array(v.object({ source: v.string(), formId: v.nullable(v.string()), events: count })),
  daily: v.array(v.object({ day, source: v.string(), formId: v.nullable(v.string()), events: count })),
  deadLetters: v.nullable(
    v.object({ total: count, byStage: v.record(v.string(), count), bySource: v.record(v.string(), count) }),
  ),
});
const STATS_DOC = routeDoc({
  summary: "Submissions per day, client, source and form; each source's last event; patients and dead letters",
  description:
    "Events received in the last `days` UTC days, from the projector's Redis counters (rebuilt from Postgres when they are missing). A client-scoped token sees its own sources only and no dead-letter counts.",
  query: v.object({ days: v.optional(v.pipe(v.string(), v.regex(DAYS), v.description("1 to 366 (default 30)"))) }),
  responses: { 200: ["the stats", StatsSchema], 400: "days out of range" },
});

export function statsRoutes({ sql, redis, nats, log }: StatsDeps) {
  /** The counters for `days`: from Redis, rebuilt there when untrusted, or from Postgres without Redis. */
  async function counters(days: string[], today: Date): Promise<{ from: StatsDto["from"]; counters: StatsCounters }> {
    let cached: StatsCounters | null;
    try {
      cached = await readStatsCounters(redis, days);
    } catch (error) {
      log.warn({ err: (error as Error).message }, "stats counters unreadable; counting in Postgres");
      return { from: "postgres", counters: await countersFromPostgres(sql, days[0]!) };
    }
    if (cached) return { from: "redis", counters: cached };
    const rebuilt = await countersFromPostgres(sql, dayRange(today, STATS_DAYS_KEPT)[0]!);
    await writeStatsCounters(redis, rebuilt, today).catch((error) =>
      log.warn({ err: (error as Error).message }, "stats counters not rebuilt"),
    );
    return { from: "postgres", counters: rebuilt };
  }

  async function deadLetterCounts(): Promise<StatsDto["deadLetters"]> {
    if (!nats) return null;
    try {
      return await countDeadLettersBySubject(await nats.get());
    } catch (error) {
      log.warn({ err: (error as Error).message }, "dead-letter counts unavailable");
      return null;
    }
  }

  return new Elysia().get(
    "/api/v1/stats",
    async (context) => {
      const principal = callerOf(context);
      const raw = context.query.days ?? "30";
      if (!DAYS.test(raw) || Number(raw) < 1 || Number(raw) > 366)
        return errorResponse(400, "invalid_days", "days must be a whole number from 1 to 366");
      const today = new Date();
      const days = dayRange(today, Number(raw));
      const scoped = isScoped(principal);
      const [{ from, counters: c }, visible, deadLetters] = await Promise.all([
        counters(days, today),
        withScope(sql, principal, async (tx) => {
          const owners = await tx<{ name: string; client_id: string }[]>`select name, client_id::text from sources`;
          const clients = await tx<{ id: string; name: string }[]>`select id::text, name from clients order by name`;
          const [{ n }] = (await tx`select count(*)::int as n from patients`) as unknown as [{ n: number }];
          return {
            owners: new Map(owners.map((o) => [o.name, { clientId: o.client_id }])),
            clients: new Map(clients.map((r) => [r.id, r.name])),
            patients: n,
          };
        }),
        scoped ? Promise.resolve(null) : deadLetterCounts(),
      ]);
      const { events, ...summary } = summarize(c, days, visible.owners, visible.clients, scoped);
      const body: StatsDto = {
        from,
        ...summary,
        totals: { events, patients: visible.patients, deadLetters: deadLetters?.total ?? null },
        deadLetters,
      };
      return json(body);
    },
    STATS_DOC,
  );
}
