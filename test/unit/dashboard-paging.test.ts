// Keyset paging (services/dashboard/paging.ts), shared by every listing of the dashboard API:
// limit and cursor rules, the cursor round trip, and the same answers from the patient and
// the conflict listings (conflicts.ts had its own copy of these rules).
import { expect, test } from "bun:test";
import { Writable } from "node:stream";
import type { Sql } from "postgres";
import * as v from "valibot";
import { createDashboardApp } from "../../services/dashboard/app.ts";
import { keysetPage } from "../../services/dashboard/paging.ts";
import type { Redis } from "../../shared/cache.ts";
import { createLogger } from "../../shared/logger.ts";
import { createMetrics } from "../../shared/metrics.ts";
import { TEST_KEYS } from "../keys.ts";

const Cursor = v.object({ id: v.pipe(v.string(), v.regex(/^\d+$/)) });
type Item = { id: string };

/** A listing of ids n..1, newest first, that records what keysetPage asked it for. */
function listing(n: number) {
  const asked: { limit: number; after: { id: string } | undefined }[] = [];
  const fetchPage = async (limit: number, after: { id: string } | undefined): Promise<Item[]> => {
    asked.push({ limit, after });
    const from = after ? Number(after.id) - 1 : n;
    return Array.from({ length: Math.max(0, Math.min(limit, from)) }, (_, i) => ({ id: String(from - i) }));
  };
  return {
    asked,
    page: (query: { limit?: string; cursor?: string }) =>
      keysetPage(Cursor, query, fetchPage, (last: Item) => ({ id: last.id })),
  };
}

test("limit defaults to 50 and must be a whole number from 1 to 500", async () => {
  const { asked, page } = listing(0);
  expect((await page({})).status).toBe(200);
  expect((await page({ limit: "500" })).status).toBe(200);
  expect(asked.map((a) => a.limit)).toEqual([50, 500]);
  for (const limit of ["0", "501", "1.5", "-1", "ten", ""]) {
    const res = await page({ limit });
    expect([limit, res.status, await res.json()]).toEqual([
      limit,
      400,
      { error: { code: "invalid_limit", message: "limit must be a whole number from 1 to 500" } },
    ]);
  }
  expect(asked).toHaveLength(2);
});

test("a full page hands out the cursor of its last item, which fetches the next page; a short page none", async () => {
  const { asked, page } = listing(5);
  const first = (await (await page({ limit: "2" })).json()) as { items: Item[]; nextCursor: string | null };
  expect(first.items.map((i) => i.id)).toEqual(["5", "4"]);
  const second = (await (await page({ limit: "2", cursor: first.nextCursor! })).json()) as typeof first;
  expect(asked[1]!.after).toEqual({ id: "4" });
  expect(second.items.map((i) => i.id)).toEqual(["3", "2"]);
  const third = (await (await page({ limit: "2", cursor: second.nextCursor! })).json()) as typeof first;
  expect(third).toEqual({ items: [{ id: "1" }], nextCursor: null });
});

test("a cursor this API did not hand out is a 400 before any query", async () => {
  const { asked, page } = listing(5);
  const b64 = (s: string) => Buffer.from(s).toString("base64url");
  for (const cursor of ["not base64 json", b64("null"), b64('{"id":1}'), b64('{"id":"1; drop table"}'), b64("{")]) {
    const res = await page({ cursor });
    expect([cursor, res.status, await res.json()]).toEqual([
      cursor,
      400,
      { error: { code: "invalid_cursor", message: "cursor is not one this API returned" } },
    ]);
  }
  expect(asked).toEqual([]);
});

test("the patient and conflict listings answer a bad limit or cursor alike", async () => {
  const app = createDashboardApp({
    sql: Object.assign(() => Promise.resolve([]), { unsafe: () => "" }) as unknown as Sql,
    keys: TEST_KEYS,
    redis: {} as Redis,
    sources: new Map(),
    apiTokens: "viewer-token-0123456789=viewer",
    cacheTtlSeconds: 0,
    log: createLogger("dashboard", "silent", new Writable({ write: (_c, _e, done) => done() })),
    metrics: createMetrics("dashboard"),
    readiness: {},
  });
  const answer = async (path: string) => {
    const res = await app.handle(
      new Request(`http://dashboard.test${path}`, { headers: { authorization: "Bearer viewer-token-0123456789" } }),
    );
    return [res.status, await res.json()];
  };
  for (const query of ["limit=501", "limit=0", "cursor=bogus"]) {
    const expected = await answer(`/api/v1/patients?${query}`);
    expect(expected[0]).toBe(400);
    expect(await answer(`/api/v1/conflicts?${query}`)).toEqual(expected);
    expect(await answer(`/api/v1/patients/42/conflicts?${query}`)).toEqual(expected);
  }
});
