// Unexpected failures still answer the JSON error contract, and the log line carries the
// error's code and message but not a database error's detail (which can quote patient data).
import { expect, test } from "bun:test";
import { Writable } from "node:stream";
import { Elysia } from "elysia";
import postgres, { type Sql } from "postgres";
import { createDashboardApp } from "../../services/dashboard/app.ts";
import type { Redis } from "../../shared/cache.ts";
import { open, seal } from "../../shared/crypto/envelope.ts";
import { newKeyText, parseKeyring } from "../../shared/crypto/keyring.ts";
import { jsonErrors } from "../../shared/http/json-errors.ts";
import { createLogger } from "../../shared/logger.ts";
import { createMetrics } from "../../shared/metrics.ts";
import { TEST_KEYS } from "../keys.ts";

test("a failing query gives a JSON 500 and a log line without the row it quoted", async () => {
  const lines: string[] = [];
  const log = createLogger(
    "dashboard",
    "info",
    new Writable({
      write: (chunk, _enc, done) => {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const failing = Object.assign(new Error("duplicate key value violates unique constraint"), {
    code: "23505",
    detail: "Key (email)=(secret.patient@example.com) already exists.",
  });
  // Every query fails when awaited (a thenable, so unawaited fragments stay quiet).
  // biome-ignore lint/suspicious/noThenProperty: a thenable is what postgres.js queries are; awaiting it must fail.
  const query = () => ({ then: (_ok: unknown, fail: (e: unknown) => void) => fail(failing) });
  // begin: the dashboard queries in a transaction (services/dashboard/scope.ts).
  const sql: Sql = Object.assign(query, {
    unsafe: () => "",
    array: () => [],
    begin: (fn: (tx: Sql) => unknown) => fn(sql),
  }) as unknown as Sql;
  const app = createDashboardApp({
    sql,
    keys: TEST_KEYS,
    redis: {} as Redis,
    sources: new Map(),
    apiTokens: "t=admin",
    cacheTtlSeconds: 0,
    log,
    metrics: createMetrics("dashboard"),
    readiness: {},
  });
  const res = await app.handle(
    new Request("http://dash/api/v1/patients?q=someone", { headers: { authorization: "Bearer t" } }),
  );
  expect(res.status).toBe(500);
  expect(await res.json()).toEqual({ error: { code: "internal_error", message: "internal error" } });
  const logged = lines.join("");
  expect(logged).toContain("23505");
  expect(logged).not.toContain("secret.patient@example.com");
});

test("text Postgres cannot hold (a NUL in a search) is the request's fault: 400, not 500", async () => {
  // postgres.js's constructor copies the fields of the server's error message onto the error.
  const PostgresError = postgres.PostgresError as unknown as new (fields: object) => Error;
  const nul = new PostgresError({ message: 'invalid byte sequence for encoding "UTF8": 0x00', code: "22021" });
  // biome-ignore lint/suspicious/noThenProperty: a thenable is what postgres.js queries are; awaiting it must fail.
  const query = () => ({ then: (_ok: unknown, fail: (e: unknown) => void) => fail(nul) });
  const sql: Sql = Object.assign(query, {
    unsafe: () => "",
    array: () => [],
    begin: (fn: (tx: Sql) => unknown) => fn(sql),
  }) as unknown as Sql;
  const app = createDashboardApp({
    sql,
    keys: TEST_KEYS,
    redis: {} as Redis,
    sources: new Map(),
    apiTokens: "t=admin",
    cacheTtlSeconds: 0,
    log: createLogger("dashboard", "silent"),
    metrics: createMetrics("dashboard"),
    readiness: {},
  });
  const res = await app.handle(
    new Request("http://dash/api/v1/patients?q=a%00b", { headers: { authorization: "Bearer t" } }),
  );
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
});

test("a value sealed under a key this service was not given is a 503 key_unavailable, not a 500", async () => {
  const elsewhere = parseKeyring(newKeyText("elsewhere-1"), "test");
  const sealed = seal(elsewhere, "patients.email", Buffer.from("x@example.com"));
  const log = createLogger("dashboard", "silent", new Writable({ write: (_c, _e, done) => done() }));
  const app = new Elysia().use(jsonErrors(log)).get("/read", () => open(TEST_KEYS.data, "patients.email", sealed));
  const res = await app.handle(new Request("http://dash/read"));
  expect([res.status, res.headers.get("retry-after")]).toEqual([503, "30"]);
  expect((await res.json()).error.code).toBe("key_unavailable");
});
