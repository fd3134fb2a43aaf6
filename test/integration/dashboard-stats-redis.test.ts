// GET /api/v1/stats while Redis is away (counted in Postgres, still right) and after it comes
// back empty (rebuilt, then counted again), with a private redis-server the test stops and starts.
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  ADMIN,
  type Cluster,
  postWebhook,
  type RedisServer,
  signGeneric,
  startCluster,
  startRedisServer,
  waitFor,
} from "./harness.ts";

let cluster: Cluster;
let redis: RedisServer;

const stats = async () => {
  const res = await fetch(`${cluster.services.dashboard!.url}/api/v1/stats?days=3`, { headers: ADMIN });
  expect(res.status).toBe(200);
  return (await res.json()) as { from: string; totals: { events: number } };
};
const stored = async () => (await cluster.sql`select count(*)::int as n from webhook_events`)[0]!.n as number;

async function ingest(i: number): Promise<void> {
  const body = { data: { Vorname: `Away${i}`, "E-Mail": `away${i}@example.com` } };
  const res = await postWebhook(cluster.services.ingress!.url, "generic", signGeneric(body, `msg_away_${i}`));
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await startCluster(["ingress", "projector", "dashboard"], { REDIS_URL: redis.url });
});

afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

test("with Redis away the stats are counted in Postgres; back and empty, they are rebuilt and counted again", async () => {
  await ingest(1);
  await ingest(2);
  await waitFor("2 events stored", async () => (await stored()) === 2);
  expect(await stats()).toMatchObject({ from: "postgres", totals: { events: 2 } });
  expect(await stats()).toMatchObject({ from: "redis", totals: { events: 2 } });

  await redis.stop();
  await ingest(3); // stored, but the projector cannot count it
  await waitFor("3 events stored", async () => (await stored()) === 3);
  expect(await stats()).toMatchObject({ from: "postgres", totals: { events: 3 } });

  await redis.start();
  await waitFor("the stats back in Redis", async () => {
    const s = await stats();
    return s.from === "redis" && s.totals.events === 3;
  });
  await ingest(4);
  await waitFor("the projector counting again", async () => (await stats()).totals.events === 4);
});
