// /health/detailed's logic (issue #12 item 3): the worst check decides and each check that is
// not healthy says why; a check that throws or does not answer counts as its `whenDown`; only
// admin tokens get in, and the ingress's and projector's DASHBOARD_API_TOKENS is optional there
// (unset outside development: closed to everyone).
import { expect, test } from "bun:test";
import pino from "pino";
import { readConfig } from "../../shared/config.ts";
import { createKeyring } from "../../shared/crypto/keyring.ts";
import { DEV_CREDENTIALS } from "../../shared/dev-credentials.ts";
import { type HealthCheck, keysCheck } from "../../shared/health/checks.ts";
import { envTokensHealthAuthorizer, healthTokensConfig } from "../../shared/http/health-auth.ts";
import { detailedHealth, detailedHealthRoute } from "../../shared/http/health-detailed.ts";

const ok = (details: object = {}): HealthCheck => ({
  whenDown: "unhealthy",
  run: async () => ({ status: "healthy", ...details }),
});
const failing = (whenDown: "degraded" | "unhealthy", message: string): HealthCheck => ({
  whenDown,
  run: async () => {
    throw new Error(message);
  },
});

test("all healthy: healthy, no reasons, each check's details kept", async () => {
  const r = await detailedHealth({ a: ok({ latencyMs: 1 }), b: ok() });
  expect(r).toEqual({
    status: "healthy",
    reasons: [],
    checks: { a: { status: "healthy", latencyMs: 1 }, b: { status: "healthy" } },
  });
});

test("a failing check is its whenDown with the error as reason; the worst status wins", async () => {
  const degraded = await detailedHealth({ nats: ok(), redis: failing("degraded", "connect ECONNREFUSED") });
  expect(degraded.status).toBe("degraded");
  expect(degraded.reasons).toEqual(["redis: connect ECONNREFUSED"]);
  const unhealthy = await detailedHealth({
    redis: failing("degraded", "down"),
    nats: failing("unhealthy", "not connected"),
    disk: ok(),
  });
  expect(unhealthy.status).toBe("unhealthy");
  expect(unhealthy.reasons).toEqual(["redis: down", "nats: not connected"]);
});

test("a check's own verdict counts too (a nearly full stream while everything answers)", async () => {
  const r = await detailedHealth({
    jetstream: { whenDown: "unhealthy", run: async () => ({ status: "degraded", reason: "WEBHOOKS is 93% full" }) },
  });
  expect(r).toMatchObject({ status: "degraded", reasons: ["jetstream: WEBHOOKS is 93% full"] });
});

test("a check that does not answer in time counts as down, without waiting for it", async () => {
  const hanging: HealthCheck = { whenDown: "degraded", run: () => new Promise(() => {}) };
  const started = performance.now();
  const r = await detailedHealth({ redis: hanging }, 50);
  expect(r.reasons).toEqual(["redis: no answer within 50 ms"]);
  expect(r.status).toBe("degraded");
  // Generous bound: the timeout, not the hung call, ends it.
  expect(performance.now() - started).toBeLessThan(2000);
});

const log = pino({ level: "silent" });
const ADMIN = "unit-admin-token-91f2";
const VIEWER = "unit-viewer-token-91f2";

test("authorizer: admin tokens only; 401 without or with a wrong token, 403 for a viewer", async () => {
  const authorize = envTokensHealthAuthorizer(`${ADMIN}=admin,${VIEWER}=viewer`, log);
  expect(await authorize(`Bearer ${ADMIN}`)).toBe("ok");
  expect(await authorize(`Bearer ${VIEWER}`)).toMatchObject({ status: 403, code: "forbidden" });
  expect(await authorize(null)).toMatchObject({ status: 401 });
  expect(await authorize("Bearer nope")).toMatchObject({ status: 401 });
});

test("no tokens configured: closed to everyone (never open)", async () => {
  const authorize = envTokensHealthAuthorizer("", log);
  expect(await authorize(`Bearer ${ADMIN}`)).toMatchObject({ status: 401, code: "unauthorized" });
  expect(await authorize(null)).toMatchObject({ status: 401 });
  const app = detailedHealthRoute({ service: "ingress", checks: { a: ok() }, authorize });
  const res = await app.handle(
    new Request("http://localhost/health/detailed", { headers: { authorization: `Bearer ${ADMIN}` } }),
  );
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toBe("Bearer");
  expect(JSON.stringify(await res.json())).not.toContain("checks");
});

test("the route: 200 healthy or degraded, 503 unhealthy, never cached", async () => {
  const authorize = envTokensHealthAuthorizer(`${ADMIN}=admin`, log);
  const call = async (checks: Record<string, HealthCheck>) =>
    detailedHealthRoute({ service: "projector", checks, authorize }).handle(
      new Request("http://localhost/health/detailed", { headers: { authorization: `Bearer ${ADMIN}` } }),
    );
  const degraded = await call({ redis: failing("degraded", "down") });
  expect(degraded.status).toBe(200);
  expect(degraded.headers.get("cache-control")).toBe("no-store");
  expect(await degraded.json()).toMatchObject({
    status: "degraded",
    service: "projector",
    version: { version: expect.any(String) },
  });
  expect((await call({ nats: failing("unhealthy", "down") })).status).toBe(503);
});

test("DASHBOARD_API_TOKENS on the ingress and projector: optional, the dev admin token in development, checked like the dashboard's", () => {
  const spec = { healthTokens: healthTokensConfig };
  expect(readConfig(spec, {}).healthTokens).toBe("");
  expect(readConfig(spec, { HOOKLINE_ENV: "development" }).healthTokens).toBe(
    `${DEV_CREDENTIALS.dashboardAdminToken}=admin`,
  );
  expect(readConfig(spec, { DASHBOARD_API_TOKENS: `${ADMIN}=admin` }).healthTokens).toBe(`${ADMIN}=admin`);
  expect(() => readConfig(spec, { DASHBOARD_API_TOKENS: `${ADMIN}=root` })).toThrow(/role/);
  expect(() =>
    readConfig(spec, {
      HOOKLINE_ENV: "production",
      DASHBOARD_API_TOKENS: `${DEV_CREDENTIALS.dashboardAdminToken}=admin`,
    }),
  ).toThrow(/DASHBOARD_API_TOKENS/);
});

test("keys: each current key's id and age, never the key; a current key past its rotation age is degraded", async () => {
  const key = (id: string, daysOld: number) => ({
    id,
    key: Buffer.alloc(32, 7),
    createdAt: new Date(Date.now() - daysOld * 86_400_000),
  });
  const fresh = await keysCheck({
    data: createKeyring([key("d2", 3)]),
    blindIndex: createKeyring([key("b1", 10)]),
  }).run();
  expect(fresh).toMatchObject({ status: "healthy", data: { current: "d2", ageDays: 3, keys: 1 } });
  expect(JSON.stringify(fresh)).not.toContain(Buffer.alloc(32, 7).toString("base64"));
  const due = await keysCheck({
    data: createKeyring([key("d3", 120), key("d2", 400)]),
    blindIndex: createKeyring([key("b1", 10)]),
  }).run();
  expect(due.status).toBe("degraded");
  expect(due.reason).toMatch(/^data key d3 is older than 90 days/);
});
