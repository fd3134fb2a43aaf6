// The dashboard in process (app.handle): security headers on every kind of response, and
// which routes a viewer's token may use (issue #7 item 9). No database is needed: queries
// resolve to no rows, and the cache is off (TTL 0), so Redis is never called.
import { expect, test } from "bun:test";
import { Writable } from "node:stream";
import type { Sql } from "postgres";
import { createDashboardApp } from "../../services/dashboard/app.ts";
import type { Redis } from "../../shared/cache.ts";
import { SECURITY_HEADERS } from "../../shared/http/security-headers.ts";
import { createLogger } from "../../shared/logger.ts";
import { createMetrics } from "../../shared/metrics.ts";

const ADMIN = { authorization: "Bearer admin-token-0123456789" };

// Every query (and fragment) resolves to no rows when awaited.
const query = () => ({ then: (ok: (rows: unknown[]) => void) => ok([]) });
const sql = Object.assign(query, { unsafe: () => "" }) as unknown as Sql;

const app = createDashboardApp({
  sql,
  redis: {} as Redis,
  sources: new Map(),
  apiTokens: "admin-token-0123456789=admin,viewer-token-0123456789=viewer",
  cacheTtlSeconds: 0,
  log: createLogger("dashboard", "silent", new Writable({ write: (_c, _e, done) => done() })),
  metrics: createMetrics("dashboard"),
  readiness: {},
});

const call = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
  app.handle(new Request(`http://dashboard.test${path}`, { method, headers, body }));

test.each([
  ["the page", "GET", "/", {}, undefined, 200],
  ["its script", "GET", "/app.js", {}, undefined, 200],
  ["its style", "GET", "/app.css", {}, undefined, 200],
  ["the OpenAPI document", "GET", "/openapi.json", {}, undefined, 200],
  ["patients", "GET", "/api/v1/patients", ADMIN, undefined, 200],
  ["no token", "GET", "/api/v1/patients", {}, undefined, 401],
  ["a bad limit", "GET", "/api/v1/patients?limit=0", ADMIN, undefined, 400],
  ["an unknown patient", "GET", "/api/v1/patients/42", ADMIN, undefined, 404],
  ["an unknown route", "GET", "/api/v1/nothing", ADMIN, undefined, 404],
  ["an unparseable body", "POST", "/api/v1/conflicts/1/resolve", { ...ADMIN, "content-type": "application/json" }, "{", 400],
  ["the preview of an unknown source", "POST", "/v1/sources/nope/preview", ADMIN, "{}", 404],
] as const)("%s (%s %s) carries every security header", async (_what, method, path, headers, body, status) => {
  const res = await call(method, path, headers, body);
  expect(res.status).toBe(status);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect([name, res.headers.get(name)]).toEqual([name, value]);
});

test("the page has no inline script, style or event handler for the CSP to block", async () => {
  const html = await (await call("GET", "/")).text();
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
  expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  expect((await call("GET", "/app.js")).headers.get("content-type")).toStartWith("text/javascript");
  expect((await call("GET", "/app.css")).headers.get("content-type")).toStartWith("text/css");
});
