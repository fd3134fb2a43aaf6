// The dashboard in process (app.handle): security headers on every kind of response, and
// which routes a viewer's token may use (issue #7 item 9). No database is needed: queries
// resolve to no rows, and the cache is off (TTL 0), so Redis is never called.
import { expect, test } from "bun:test";
import { Elysia } from "elysia";
import { assertEveryRouteHasRule, ROUTE_ROLES } from "../../services/dashboard/access.ts";
import { bearerAuth } from "../../services/dashboard/auth.ts";
import { createAuthenticator } from "../../shared/auth/bearer.ts";
import { SECURITY_HEADERS } from "../../shared/http/security-headers.ts";
import { createLogger } from "../../shared/logger.ts";
import { ADMIN, inProcessDashboard } from "./dashboard-in-process.ts";

const { call } = inProcessDashboard();

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
  [
    "an unparseable body",
    "POST",
    "/api/v1/conflicts/1/resolve",
    { ...ADMIN, "content-type": "application/json" },
    "{",
    400,
  ],
  ["the preview of an unknown source", "POST", "/v1/sources/nope/preview", ADMIN, "{}", 404],
] as const)("%s (%s %s) carries every security header", async (_what, method, path, headers, body, status) => {
  const res = await call(method, path, headers, body);
  expect(res.status).toBe(status);
  for (const [name, value] of Object.entries(SECURITY_HEADERS))
    expect([name, res.headers.get(name)]).toEqual([name, value]);
});

test("the page has no inline script, style or event handler for the CSP to block", async () => {
  const html = await (await call("GET", "/")).text();
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
  expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  expect((await call("GET", "/app.js")).headers.get("content-type")).toStartWith("text/javascript");
  expect((await call("GET", "/app.css")).headers.get("content-type")).toStartWith("text/css");
});

const VIEWER = { authorization: "Bearer viewer-token-0123456789" };
const JSON_BODY = { "content-type": "application/json" };

test("a viewer reads patients, forms and conflicts", async () => {
  for (const path of [
    "/api/v1/patients",
    "/api/v1/patients/42",
    "/api/v1/forms",
    "/api/v1/conflicts",
    "/api/v1/patients/42/conflicts",
  ]) {
    const res = await call("GET", path, VIEWER);
    expect([path, res.status]).toEqual([path, path === "/api/v1/patients/42" ? 404 : 200]);
  }
});

const EDITOR = { authorization: "Bearer editor-token-0123456789" };

// Above viewer: the preview runs the parser on arbitrary input and shows a source's setup, the
// events carry every webhook's canonical payload (admin); resolving a conflict writes (editor).
const ABOVE_VIEWER = [
  ["the source preview", "admin", "POST", "/v1/sources/nope/preview", "{}", 404],
  ["the events", "admin", "GET", "/api/v1/events", undefined, 200],
  ["resolving a conflict", "editor", "POST", "/api/v1/conflicts/1/resolve", '{"action":"nope"}', 400],
] as const;

test.each(ABOVE_VIEWER)(
  "%s (%s): a viewer gets 403 forbidden naming the role, an admin gets through, no token 401",
  async (_what, role, method, path, body, allowedStatus) => {
    const viewer = await call(method, path, { ...VIEWER, ...JSON_BODY }, body);
    expect(viewer.status).toBe(403);
    expect(await viewer.json()).toEqual({ error: { code: "forbidden", message: expect.stringContaining(role) } });
    expect((await call(method, path, { ...EDITOR, ...JSON_BODY }, body)).status).toBe(
      role === "editor" ? allowedStatus : 403,
    );
    expect((await call(method, path, { ...ADMIN, ...JSON_BODY }, body)).status).toBe(allowedStatus);
    expect((await call(method, path, JSON_BODY, body)).status).toBe(401);
  },
);

test("an API route without a rule in ROUTE_ROLES fails the app's construction, and is refused if served", async () => {
  expect(() => assertEveryRouteHasRule([{ method: "PUT", path: "/api/v1/patients/:id" }])).toThrow(
    expect.objectContaining({
      code: "route_without_rule",
      message: expect.stringContaining("PUT /api/v1/patients/:id"),
    }),
  );
  const authenticate = createAuthenticator({
    apiTokens: "admin-token-0123456789=admin",
    log: createLogger("t", "silent"),
  });
  const bare = new Elysia().use(bearerAuth(authenticate)).get("/api/v1/unruled", () => "ok");
  const res = await bare.handle(new Request("http://dashboard.test/api/v1/unruled", { headers: ADMIN }));
  expect(res.status).toBe(403);
});

test("the OpenAPI document names each operation's role from the rule table, and documents every ruled route", async () => {
  const openApiDocument = (await (await call("GET", "/openapi.json")).json()) as {
    paths: Record<string, unknown>;
    security: unknown;
  };
  const documented: Record<string, string> = {};
  for (const [path, item] of Object.entries(openApiDocument.paths)) {
    for (const [method, op] of Object.entries(
      item as Record<string, { security: { bearer: string[] }[]; responses: Record<string, unknown> }>,
    )) {
      const [role] = op.security[0]!.bearer;
      documented[`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`] = role!;
      expect([path, method, op.responses[403] !== undefined]).toEqual([path, method, role !== "viewer"]);
    }
  }
  expect(documented).toEqual(ROUTE_ROLES);
  expect(openApiDocument.security).toEqual([{ bearer: [] }]);
});
