// The patient cache's protocol against real Redis (issue #7 item 9): the dashboard reads a
// patient, the projector commits a change and invalidates, and only then does the dashboard
// store what it read. Interleaved by hand, so the race happens on every run.
import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import Redis from "ioredis";
import { createPatientCache } from "../../shared/patient-cache.ts";
import { TEST_KEYS } from "../keys.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1";
let redis: Redis;
beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(() => redis?.quit());
beforeEach(async () => {
  const keys = await redis.keys("hookline:patient:*");
  if (keys.length) await redis.del(...keys);
});

type Row = { id: string; city: string };
const reader = () => createPatientCache<Row>(redis, { ttlSeconds: 60, keys: TEST_KEYS.data });
// The projector only invalidates; it keeps no entries.
const writer = () => createPatientCache<Row>(redis);

test("an entry read before the writer's invalidation is never served after it", async () => {
  const dashboard = reader();
  const first = await dashboard.get("7"); // miss: the dashboard will read the database
  expect(first.hit).toBe(false);
  const stale: Row = { id: "7", city: "Old Town" }; // what its database read returned
  await writer().invalidate(["7"]); // the projector committed "New Town", then invalidated
  await dashboard.put("7", first.hit ? "" : first.generation, stale); // the dashboard stores what it read
  const next = await dashboard.get("7");
  expect(next.hit).toBe(false);
});

test("the same race on a patient that was cached and invalidated before", async () => {
  const dashboard = reader();
  await writer().invalidate(["8"]);
  const a = await dashboard.get("8");
  if (a.hit) throw new Error("expected a miss");
  await dashboard.put("8", a.generation, { id: "8", city: "One" });
  expect(await dashboard.get("8")).toEqual({ hit: true, value: { id: "8", city: "One" } });

  await writer().invalidate(["8"]); // "Two" committed: the entry goes
  const b = await dashboard.get("8");
  if (b.hit) throw new Error("expected a miss after invalidation");
  await writer().invalidate(["8"]); // "Three" committed while the dashboard read "Two"
  await dashboard.put("8", b.generation, { id: "8", city: "Two" });
  expect((await dashboard.get("8")).hit).toBe(false);

  // Without a write in between, what the dashboard reads is cached and served.
  const c = await dashboard.get("8");
  if (c.hit) throw new Error("expected a miss");
  await dashboard.put("8", c.generation, { id: "8", city: "Three" });
  expect(await dashboard.get("8")).toEqual({ hit: true, value: { id: "8", city: "Three" } });
});

test("invalidation covers every id of a batch; other patients keep their entries", async () => {
  const dashboard = reader();
  for (const id of ["1", "2", "3"]) {
    const r = await dashboard.get(id);
    if (r.hit) throw new Error("expected a miss");
    await dashboard.put(id, r.generation, { id, city: `C${id}` });
  }
  await writer().invalidate(["1", "3"]);
  expect((await dashboard.get("1")).hit).toBe(false);
  expect((await dashboard.get("2")).hit).toBe(true);
  expect((await dashboard.get("3")).hit).toBe(false);
});

test("a TTL of 0 caches nothing and leaves Redis alone", async () => {
  const off = createPatientCache<Row>(redis, { ttlSeconds: 0 });
  const r = await off.get("9");
  if (r.hit) throw new Error("expected a miss");
  expect(await off.put("9", r.generation, { id: "9", city: "X" })).toBe(false);
  expect(await redis.keys("hookline:patient:*")).toEqual([]);
});

test("entries are sealed for their patient, expire, and never hold a value in clear", async () => {
  const dashboard = reader();
  const r = await dashboard.get("10");
  if (r.hit) throw new Error("expected a miss");
  await dashboard.put("10", r.generation, { id: "10", city: "Clear Town" });
  const key = "hookline:patient:{10}:entry";
  const raw = (await redis.getBuffer(key))!;
  expect(raw.includes(Buffer.from("Clear Town"))).toBe(false);
  expect((await redis.dump(key))?.includes("Clear Town")).toBe(false);
  const ttl = await redis.ttl(key);
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(60);
  // Copied under another patient's key, it does not open (a read falls back to the database).
  await redis.set("hookline:patient:{11}:entry", raw);
  await expect(dashboard.get("11")).rejects.toThrow("does not open");
  // Caching needs the keyring: without it, refused at creation rather than stored in clear.
  expect(() => createPatientCache<Row>(redis, { ttlSeconds: 60 })).toThrow("needs the data keyring");
});
