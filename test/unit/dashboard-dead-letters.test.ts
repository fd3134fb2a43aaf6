// The dead-letter routes' one sequence rule (issue #7 item 5): a dead letter's id and the listing's
// cursor (nextCursor, the last letter of a page) are both a letter's sequence, from 1. Checked
// before NATS is asked, so a dashboard without NATS answers these.
import { expect, test } from "bun:test";
import { ADMIN, inProcessDashboard } from "./dashboard-in-process.ts";

const { call } = inProcessDashboard();
const answer = async (method: string, path: string) => {
  const res = await call(method, path, ADMIN);
  return [res.status, ((await res.json()) as { error?: { code: string } }).error?.code];
};

test.each(["0", "007", "-1", "1.5", "x", "1234567890123456"])(
  "cursor %p is not a letter's sequence: 400",
  async (cursor) => {
    expect(await answer("GET", `/api/v1/dead-letters?cursor=${encodeURIComponent(cursor)}`)).toEqual([
      400,
      "invalid_cursor",
    ]);
  },
);

test.each(["0", "007", "1234567890123456"])("dead letter %p is not a letter's sequence: 400", async (seq) => {
  expect(await answer("POST", `/api/v1/dead-letters/${seq}/replay`)).toEqual([400, "invalid_id"]);
});

test.each([
  ["GET", "/api/v1/dead-letters?cursor=1"],
  ["GET", "/api/v1/dead-letters?cursor=123456789012345"],
  ["POST", "/api/v1/dead-letters/1/replay"],
])("%s %s passes the check (then NATS is asked: none here)", async (method, path) => {
  expect(await answer(method, path)).toEqual([503, "nats_unavailable"]);
});
