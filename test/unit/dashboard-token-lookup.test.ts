// The dashboard's lookup of database tokens (issue #10 item 5): a short in-process cache keyed
// by digest (so revocation reaches every pod within its TTL), expiry checked on every request,
// and last_used_at written at most once a minute per token. A fake clock; no database.
import { expect, test } from "bun:test";
import { Writable } from "node:stream";
import { createTokenLookup } from "../../services/dashboard/token-lookup.ts";
import { type ActiveToken, newToken } from "../../services/dashboard/tokens.ts";
import { createLogger } from "../../shared/logger.ts";

const silent = createLogger("test", "silent", new Writable({ write: (_c, _e, done) => done() }));

function setup(initial: Record<string, ActiveToken | null> = {}, options: { maxEntries?: number } = {}) {
  let now = 1_000_000;
  const table = new Map<string, ActiveToken | null>(Object.entries(initial));
  const finds: string[] = [];
  const touches: string[] = [];
  let failing = false;
  const lookup = createTokenLookup({
    // Keyed here by the token's hex digest, as the store would find it.
    find: async (digest) => {
      finds.push(digest.toString("hex"));
      if (failing) throw Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" });
      return table.get(digest.toString("hex")) ?? null;
    },
    touch: async (id) => {
      touches.push(id);
    },
    log: silent,
    now: () => now,
    ttlMs: 5_000,
    touchEveryMs: 60_000,
    ...options,
  });
  return {
    lookup,
    table,
    finds,
    touches,
    advance: (ms: number) => {
      now += ms;
    },
    fail: (on: boolean) => {
      failing = on;
    },
    nowMs: () => now,
  };
}

const digestHex = (token: string) => new Bun.CryptoHasher("sha256").update(token).digest("hex");
const active = (id: string, expiresAt: number | null = null): ActiveToken => ({
  id,
  name: `t${id}`,
  role: "viewer",
  expiresAt,
  clientId: null,
});

test("a found token is served from the cache within the TTL, and asked again after it", async () => {
  const t = newToken();
  const s = setup({ [digestHex(t)]: active("1") });
  expect(await s.lookup(t)).toEqual(active("1"));
  s.advance(4_999);
  expect(await s.lookup(t)).toEqual(active("1"));
  expect(s.finds).toHaveLength(1);
  s.advance(1);
  await s.lookup(t);
  expect(s.finds).toHaveLength(2);
});

test("a revoked token stops working within the TTL", async () => {
  const t = newToken();
  const s = setup({ [digestHex(t)]: active("1") });
  expect(await s.lookup(t)).not.toBeNull();
  s.table.delete(digestHex(t)); // revoked in the database by another process
  s.advance(5_000);
  expect(await s.lookup(t)).toBeNull();
});

test("an unknown token is cached too: a client retrying a bad token costs one query per TTL", async () => {
  const t = newToken();
  const s = setup();
  for (let i = 0; i < 10; i++) expect(await s.lookup(t)).toBeNull();
  expect(s.finds).toHaveLength(1);
});

test("a string that is not a well-formed token is refused without a query", async () => {
  const s = setup();
  expect(await s.lookup("hl_not-a-real-token")).toBeNull();
  expect(await s.lookup(`${newToken().slice(0, -1)}x`)).toBeNull();
  expect(s.finds).toEqual([]);
});

test("an expired token is refused even while cached", async () => {
  const t = newToken();
  const s = setup();
  s.table.set(digestHex(t), active("1", s.nowMs() + 2_000));
  expect(await s.lookup(t)).not.toBeNull();
  s.advance(2_000);
  expect(await s.lookup(t)).toBeNull();
  expect(s.finds).toHaveLength(1);
});

test("last use is written at most once a minute per token, however many requests", async () => {
  const a = newToken();
  const b = newToken();
  const s = setup({ [digestHex(a)]: active("1"), [digestHex(b)]: active("2") });
  for (let i = 0; i < 100; i++) {
    await s.lookup(a);
    await s.lookup(b);
    s.advance(500); // 50 s in all
  }
  expect(s.touches.sort()).toEqual(["1", "2"]);
  s.advance(10_000); // a minute after the first
  await s.lookup(a);
  expect(s.touches.sort()).toEqual(["1", "1", "2"]);
});

test("a failed lookup is not cached and reaches the caller (the request gets a 503, not a 401)", async () => {
  const t = newToken();
  const s = setup({ [digestHex(t)]: active("1") });
  s.fail(true);
  await expect(s.lookup(t)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  s.fail(false);
  expect(await s.lookup(t)).toEqual(active("1"));
});

test("concurrent requests with one token share one query", async () => {
  const t = newToken();
  const s = setup({ [digestHex(t)]: active("1") });
  const results = await Promise.all(Array.from({ length: 20 }, () => s.lookup(t)));
  expect(results.every((r) => r?.id === "1")).toBe(true);
  expect(s.finds).toHaveLength(1);
});

test("the cache holds at most maxEntries digests (random tokens cannot grow it without bound)", async () => {
  const s = setup({}, { maxEntries: 3 });
  const tokens = Array.from({ length: 5 }, newToken);
  for (const t of tokens) await s.lookup(t);
  const before = s.finds.length;
  await s.lookup(tokens[4]!); // newest: still cached
  expect(s.finds.length).toBe(before);
  await s.lookup(tokens[0]!); // oldest: evicted, asked again
  expect(s.finds.length).toBe(before + 1);
});
