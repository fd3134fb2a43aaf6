// Request ids (issue #12 item 4): a well-formed X-Request-Id is kept, anything else replaced by
// a new UUID; the response echoes it, and every log line written while the request is handled
// (its handler, its error handler) carries it; requests handled at once keep their own.
import { expect, test } from "bun:test";
import { Elysia } from "elysia";
import { createRequestIds } from "../../shared/http/request-id.ts";
import { createLogger } from "../../shared/logger.ts";

const UUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/;

function app() {
  const ids = createRequestIds();
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(
    "test",
    "info",
    { write: (l: string) => void lines.push(JSON.parse(l)) },
    {
      requestId: ids.current,
    },
  );
  const a = new Elysia()
    .onError(({ error }) => {
      log.warn({ err: (error as Error).message }, "failed");
      return new Response("failed", { status: 500 });
    })
    .get("/slow/:n", async ({ params }) => {
      await Bun.sleep(Number(params.n));
      log.info({ n: params.n }, "handled");
      return new Response("ok");
    })
    .get("/throw", () => {
      throw new Error("boom");
    })
    .use(ids.plugin());
  const call = (path: string, id?: string) =>
    a.handle(new Request(`http://localhost${path}`, { headers: id === undefined ? {} : { "x-request-id": id } }));
  return { call, lines, current: ids.current };
}

test("a well-formed id is echoed and logged; requests in flight at once keep their own", async () => {
  const { call, lines } = app();
  const [slow, fast] = await Promise.all([call("/slow/30", "req-slow"), call("/slow/1", "req-fast")]);
  expect(slow.headers.get("x-request-id")).toBe("req-slow");
  expect(fast.headers.get("x-request-id")).toBe("req-fast");
  expect(lines.map((l) => [l.n, l.request_id])).toEqual([
    ["1", "req-fast"],
    ["30", "req-slow"],
  ]);
});

test("a malformed or missing id is replaced by a new UUID, logged as echoed", async () => {
  const { call, lines } = app();
  for (const bad of [undefined, "", "two words", "x".repeat(129), 'quote"d', "new\u0085line"]) {
    const res = await call("/slow/0", bad);
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(UUID);
    expect(lines.at(-1)?.request_id).toBe(id);
  }
  const longest = "a".repeat(128);
  expect((await call("/slow/0", longest)).headers.get("x-request-id")).toBe(longest);
});

test("the error handler's lines carry the id too, and nothing outside a request does", async () => {
  const { call, lines, current } = app();
  const res = await call("/throw", "req-err");
  expect(res.status).toBe(500);
  expect(res.headers.get("x-request-id")).toBe("req-err");
  expect(lines.at(-1)).toMatchObject({ msg: "failed", request_id: "req-err" });
  expect(current()).toBeUndefined();
});
