// Submission counters in Redis, in one place: the projector adds each committed batch's new
// events (one EVALSHA a batch), the dashboard reads them for GET /api/v1/stats and rebuilds them
// from Postgres (webhook_events) when they are missing.
//
// Layout (one hash tag, so a Redis Cluster keeps them on one node for the script):
//   {hookline-stats}:ready        set by a rebuild, expires after REBUILD_AFTER_SECONDS
//   {hookline-stats}:day:<date>   hash  JSON [source, formId] -> events received that UTC day
//   {hookline-stats}:last         hash  source -> epoch ms of its latest event
//
// Why "ready": counters are only right if every committed batch was counted since they were
// built. The projector counts only while the marker exists, and drops it after a batch it could
// not count (Redis away); a Redis restarted empty has none. Either way the next reader rebuilds
// from Postgres. The marker expires hourly, so a drift (a batch committed during a rebuild, a
// projector killed between commit and count) lasts an hour at most.
import type { Redis } from "./cache.ts";

const TAG = "{hookline-stats}";
export const STATS_KEYS = {
  ready: `${TAG}:ready`,
  last: `${TAG}:last`,
  dayPrefix: `${TAG}:day:`,
} as const;

/** Days of counters kept (and rebuilt): a year and a bit, so a year's chart is whole. */
export const STATS_DAYS_KEPT = 400;
/** How long rebuilt counters are trusted before the next reader rebuilds them. */
const REBUILD_AFTER_SECONDS = 3600;

/** The UTC day of `at`, YYYY-MM-DD. */
const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** One event to count: its source, form (null: none) and when it was received. */
export interface CountedEvent {
  source: string;
  formId: string | null;
  receivedAt: Date;
}

/** The hash field of a (source, form) pair: JSON, since a form id may hold any character. */
export const pairField = (source: string, formId: string | null): string => JSON.stringify([source, formId ?? ""]);

export function parsePairField(field: string): { source: string; formId: string | null } {
  const [source, formId] = JSON.parse(field) as [string, string];
  return { source, formId: formId === "" ? null : formId };
}

// Counts only while the counters are trusted (KEYS[1] exists); returns 1 if it counted.
// ARGV[1]: {"c":[[day, field, n], ...], "l":[[source, ms], ...]}; ARGV[2]: day key prefix;
// ARGV[3]: seconds a day's hash is kept after its last write.
const COUNT_SCRIPT = `
if redis.call('exists', KEYS[1]) == 0 then return 0 end
local p = cjson.decode(ARGV[1])
for _, c in ipairs(p.c) do
  local key = ARGV[2] .. c[1]
  redis.call('hincrby', key, c[2], c[3])
  redis.call('expire', key, ARGV[3])
end
for _, l in ipairs(p.l) do
  local seen = tonumber(redis.call('hget', KEYS[2], l[1]) or '0')
  if l[2] > seen then redis.call('hset', KEYS[2], l[1], l[2]) end
end
return 1`;

/** What one batch adds: counts by day and (source, form), and each source's latest event. */
export function batchCounts(events: readonly CountedEvent[]): { c: [string, string, number][]; l: [string, number][] } {
  const counts = new Map<string, number>();
  const last = new Map<string, number>();
  for (const e of events) {
    const key = `${utcDay(e.receivedAt)}\n${pairField(e.source, e.formId)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const ms = e.receivedAt.getTime();
    if (ms > (last.get(e.source) ?? 0)) last.set(e.source, ms);
  }
  return {
    c: [...counts].map(([key, n]) => {
      const cut = key.indexOf("\n");
      return [key.slice(0, cut), key.slice(cut + 1), n];
    }),
    l: [...last],
  };
}

/**
 * The projector's side: count each committed batch's new events. A batch that could not be
 * counted makes the counters untrusted (the marker is dropped on the next call that reaches
 * Redis, or as soon as the connection is back), so a reader rebuilds them rather than serve a gap.
 */
export function createStatsCounter(redis: Redis): (events: readonly CountedEvent[]) => Promise<void> {
  let missed = false;
  // Without this, a dashboard that reconnected first and rebuilt the counters kept serving them
  // (the marker set) while this batch's gap waited for the projector's next batch, which may
  // not come for a long time; dashboard-stats-redis.test.ts failed that way in a CI run.
  redis.on("ready", () => {
    if (missed)
      redis.del(STATS_KEYS.ready).then(
        () => {
          missed = false;
        },
        () => {},
      );
  });
  return async (events) => {
    if (events.length === 0 && !missed) return;
    try {
      if (missed) {
        await redis.del(STATS_KEYS.ready);
        missed = false;
      }
      if (events.length === 0) return;
      await redis.eval(
        COUNT_SCRIPT,
        2,
        STATS_KEYS.ready,
        STATS_KEYS.last,
        JSON.stringify(batchCounts(events)),
        STATS_KEYS.dayPrefix,
        String(STATS_DAYS_KEPT * 86_400),
      );
    } catch (error) {
      missed = true;
      throw error;
    }
  };
}

/** Counters as read back: per day, per (source, form); and each source's latest event. */
export interface StatsCounters {
  /** day -> field (pairField) -> events */
  days: Map<string, Map<string, number>>;
  last: Map<string, number>;
}

/** The last `days` UTC days up to `today`, oldest first. */
export function dayRange(today: Date, days: number): string[] {
  const out: string[] = [];
  for (let i = days - 1; i >= 0; i--) out.push(utcDay(new Date(today.getTime() - i * 86_400_000)));
  return out;
}

/** The counters for `days`, or null when they are not trusted (never built, expired, dropped). */
export async function readStatsCounters(redis: Redis, days: readonly string[]): Promise<StatsCounters | null> {
  const pipeline = redis.pipeline().exists(STATS_KEYS.ready).hgetall(STATS_KEYS.last);
  for (const day of days) pipeline.hgetall(STATS_KEYS.dayPrefix + day);
  const results = (await pipeline.exec()) ?? [];
  for (const [error] of results) if (error) throw error;
  if (results[0]?.[1] !== 1) return null;
  const last = new Map(Object.entries(results[1]![1] as Record<string, string>).map(([s, ms]) => [s, Number(ms)]));
  const out = new Map<string, Map<string, number>>();
  days.forEach((day, i) => {
    const hash = results[i + 2]![1] as Record<string, string>;
    out.set(day, new Map(Object.entries(hash).map(([field, n]) => [field, Number(n)])));
  });
  return { days: out, last };
}

/** Replaces every counter with `counters` (a rebuild from Postgres) and trusts them again. One MULTI. */
export async function writeStatsCounters(redis: Redis, counters: StatsCounters, today: Date): Promise<void> {
  const multi = redis.multi();
  const allDays = dayRange(today, STATS_DAYS_KEPT + 1);
  multi.del(STATS_KEYS.last, ...allDays.map((d) => STATS_KEYS.dayPrefix + d));
  for (const [day, fields] of counters.days) {
    if (fields.size === 0) continue;
    const key = STATS_KEYS.dayPrefix + day;
    multi.hset(key, Object.fromEntries(fields));
    multi.expire(key, STATS_DAYS_KEPT * 86_400);
  }
  if (counters.last.size) multi.hset(STATS_KEYS.last, Object.fromEntries(counters.last));
  multi.set(STATS_KEYS.ready, today.toISOString(), "EX", REBUILD_AFTER_SECONDS);
  const results = (await multi.exec()) ?? [];
  for (const [error] of results) if (error) throw error;
}
