// GET /api/v1/stats from the projector's Redis counters, rebuilt from Postgres when Redis lost
// them; the dead-letter list and its replay through the dashboard (the CLI's walk, replay and
// audit entry). Real ingress, projector, dashboard, NATS, Postgres and Redis.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { createToken } from "../../services/dashboard/tokens.ts";
import { createRedis, type Redis } from "../../shared/cache.ts";
import { createLogger } from "../../shared/logger.ts";
import { STATS_KEYS } from "../../shared/stats.ts";
import {
  ADMIN,
  type Cluster,
  postWebhook,
  publishProjectorDeadLetter,
  signGeneric,
  startCluster,
  waitFor,
} from "./harness.ts";

let cluster: Cluster;
let nc: NatsConnection;
let redis: Redis;
let dashboard: string;

const today = () => new Date().toISOString().slice(0, 10);

async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${dashboard}${path}`, { ...init, headers: { ...ADMIN, ...(init.headers ?? {}) } });
  return { status: res.status, body: await res.json() };
}

async function ingest(i: number, formId: string): Promise<void> {
  const res = await postWebhook(
    cluster.services.ingress!.url,
    "generic",
    signGeneric({ formId, data: { Vorname: `Stat${i}`, "E-Mail": `stats${i}@example.com` } }, `msg_stats_${i}`),
  );
  expect(res.status).toBe(200);
}

const eventsStored = async () => (await cluster.sql`select count(*)::int as n from webhook_events`)[0]!.n as number;

beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector", "dashboard"]);
  dashboard = cluster.services.dashboard!.url;
  nc = await connect({ servers: cluster.nats.url });
  redis = createRedis(
    process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1",
    "hookline-test",
    createLogger("test", "warn"),
  );
  await waitFor("redis", async () => (await redis.ping().catch(() => "")) === "PONG");
  await redis.flushdb();
});

afterAll(async () => {
  redis?.disconnect();
  await nc?.close();
  await cluster?.stop();
});

test("stats are rebuilt from Postgres when Redis has none, then counted by the projector, and rebuilt after Redis lost them", async () => {
  for (const i of [1, 2, 3]) await ingest(i, i === 3 ? "form-b" : "form-a");
  await waitFor("3 events stored", async () => (await eventsStored()) === 3);

  // Redis holds no counters yet: the first answer is counted in Postgres and written back.
  const first = await api("/api/v1/stats?days=7");
  expect(first.status).toBe(200);
  expect(first.body.from).toBe("postgres");
  expect(first.body.totals.events).toBe(3);
  expect(first.body.totals.patients).toBe(3);
  expect(first.body.days).toHaveLength(7);
  expect(first.body.perDay.at(-1)).toEqual({ day: today(), events: 3 });
  expect(first.body.perForm.sort((a: any, b: any) => (a.formId < b.formId ? -1 : 1))).toEqual([
    { source: "generic", formId: "form-a", events: 2 },
    { source: "generic", formId: "form-b", events: 1 },
  ]);
  const generic = first.body.perSource.find((s: any) => s.source === "generic");
  expect(generic.events).toBe(3);
  expect(Date.parse(generic.lastEventAt)).toBeGreaterThan(Date.now() - 120_000);
  expect(await redis.exists(STATS_KEYS.ready)).toBe(1);

  // New events are counted by the projector (one script call a batch) and served from Redis.
  await ingest(4, "form-a");
  await ingest(5, "form-b");
  await waitFor("5 events stored", async () => (await eventsStored()) === 5);
  await waitFor("the projector counted them", async () => {
    const { body } = await api("/api/v1/stats?days=7");
    return body.from === "redis" && body.totals.events === 5;
  });
  const counted = await api("/api/v1/stats?days=7");
  expect(counted.body.from).toBe("redis");
  expect(counted.body.daily.filter((d: any) => d.day === today()).length).toBe(2);

  // A redelivered webhook (same id) is a duplicate: stored once, counted once.
  await ingest(5, "form-b");
  expect((await api("/api/v1/stats?days=7")).body.totals.events).toBe(5);

  // Redis restarted empty: the next answer is the same, counted in Postgres again.
  await redis.flushdb();
  const rebuilt = await api("/api/v1/stats?days=7");
  expect(rebuilt.body.from).toBe("postgres");
  expect(rebuilt.body.totals.events).toBe(5);
  expect(rebuilt.body.perForm).toEqual(expect.arrayContaining(counted.body.perForm));
  expect((await api("/api/v1/stats?days=7")).body.from).toBe("redis");
});

test("stats refuse a days value out of range", async () => {
  for (const days of ["0", "367", "x", "-1"]) {
    const { status, body } = await api(`/api/v1/stats?days=${days}`);
    expect(status).toBe(400);
    expect(body.error.code).toBe("invalid_days");
  }
});

/** A good webhook dead-lettered by a projector that could not store it (as after max_deliver). */
async function deadLetter(eventId: string, email: string): Promise<void> {
  const body = JSON.stringify({ data: { Vorname: "Replay", "E-Mail": email } });
  await publishProjectorDeadLetter(nc, { source: "generic", eventId, body, reason: "database error 23514" });
}

test("dead letters are listed with their reason, counted in the stats, and a replay projects one and is audited", async () => {
  await deadLetter("evt_dlq_api_1", "replay1@example.com");
  await deadLetter("evt_dlq_api_2", "replay2@example.com");

  const list = await api("/api/v1/dead-letters");
  expect(list.status).toBe(200);
  const mine = list.body.items.filter((l: any) => l.eventId?.startsWith("evt_dlq_api_"));
  expect(mine).toHaveLength(2);
  expect(mine[0]).toMatchObject({ source: "generic", code: "projection_failed", reason: "database error 23514" });

  // Paging: one at a time, the cursor leads to the next.
  const one = await api("/api/v1/dead-letters?limit=1&code=projection_failed");
  expect(one.body.items).toHaveLength(1);
  const next = await api(`/api/v1/dead-letters?limit=1&code=projection_failed&cursor=${one.body.nextCursor}`);
  expect(next.body.items[0].seq).toBeGreaterThan(one.body.items[0].seq);

  const stats = await api("/api/v1/stats");
  expect(stats.body.deadLetters.byStage.projector).toBe(2);
  expect(stats.body.deadLetters.bySource.generic).toBeGreaterThanOrEqual(2);
  expect(stats.body.totals.deadLetters).toBe(stats.body.deadLetters.total);

  const target = mine[0];
  const replay = await api(`/api/v1/dead-letters/${target.seq}/replay`, { method: "POST" });
  expect(replay.status).toBe(200);
  expect(replay.body.replayed).toMatchObject({
    seq: target.seq,
    eventId: target.eventId,
    replayedTo: "webhooks.generic",
  });
  await waitFor(
    "the replayed webhook projected",
    async () =>
      (await cluster.sql`select count(*)::int as n from webhook_events where event_id = ${target.eventId}`)[0]!.n === 1,
  );
  const after = await api("/api/v1/dead-letters");
  expect(after.body.items.map((l: any) => l.seq)).not.toContain(target.seq);
  const [entry] = await cluster.sql`
    select actor, details from audit_log where action = 'dead_letter.replay' and entity_id = ${String(target.seq)}
    order by seq desc limit 1`;
  expect(entry!.actor).toBe("env:1");
  expect(entry!.details).toMatchObject({ source: "generic", eventId: target.eventId, role: "admin" });

  // Gone: a second replay of it is a 404; a malformed id a 400.
  expect((await api(`/api/v1/dead-letters/${target.seq}/replay`, { method: "POST" })).status).toBe(404);
  expect((await api("/api/v1/dead-letters/abc/replay", { method: "POST" })).status).toBe(400);
});

test("a client-scoped token sees its own client's sources and counts only, and no dead-letter counts", async () => {
  const name = `Stats Clinic ${Date.now().toString(36)}`;
  const created = await api("/api/v1/clients", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, sourceType: "generic" }),
  });
  expect(created.status).toBe(201);
  const { client, source } = created.body;
  const { token } = await createToken(cluster.sql, {
    name: `stats-scoped-${Date.now()}`,
    role: "viewer",
    createdBy: "test",
    clientId: client.id,
  });
  const res = await fetch(`${dashboard}/api/v1/stats?days=7`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  const scoped = (await res.json()) as any;
  expect(scoped.perSource.map((s: any) => s.source)).toEqual([source.name]);
  expect(scoped.perClient).toEqual([{ clientId: client.id, name, events: 0 }]);
  expect(scoped.totals).toEqual({ events: 0, patients: 0, deadLetters: null });
  expect(scoped.deadLetters).toBeNull();
  expect(JSON.stringify(scoped)).not.toContain('"generic"');
  // The unscoped caller still sees every source.
  const all = await api("/api/v1/stats?days=7");
  expect(all.body.perSource.map((s: any) => s.source)).toEqual(expect.arrayContaining(["generic", source.name]));
});
