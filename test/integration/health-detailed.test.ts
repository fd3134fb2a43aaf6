// /health/detailed on all three services (issue #12 item 3): closed without an admin token;
// with one, every dependency's state (NATS, streams and the consumer's lag, Postgres with its
// replication role, Redis, disk, version, keys); `degraded` while Redis is stopped and
// `healthy` again when it is back; `unhealthy` (503) for the ingress and projector while NATS
// is stopped, the dashboard (which does not use NATS) unaffected.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import {
  type Cluster,
  type RedisServer,
  type ServiceName,
  startCluster,
  startRedisServer,
  waitFor,
} from "./harness.ts";

const ADMIN_TOKEN = "health-admin-token-7c1e9b";
const VIEWER_TOKEN = "health-viewer-token-7c1e9b";
const SERVICES = ["ingress", "projector", "dashboard"] as const;

let cluster: Cluster;
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await startCluster([...SERVICES], {
    REDIS_URL: redis.url,
    DASHBOARD_API_TOKENS: `${ADMIN_TOKEN}=admin,${VIEWER_TOKEN}=viewer`,
  });
});

afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

const detailed = async (name: ServiceName, token: string | null = ADMIN_TOKEN) => {
  const res = await fetch(`${cluster.services[name]!.url}/health/detailed`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
};

describe("never without an admin token", () => {
  for (const name of SERVICES)
    test(`${name}: 401 without a token or with a wrong one, 403 for a viewer; nothing of the details`, async () => {
      const none = await detailed(name, null);
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe("Bearer");
      expect(none.body).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
      expect((await detailed(name, "not-a-token-at-all")).status).toBe(401);
      const viewer = await detailed(name, VIEWER_TOKEN);
      expect(viewer.status).toBe(403);
      expect(viewer.body.checks).toBeUndefined();
      // The probes stay open.
      expect((await fetch(`${cluster.services[name]!.url}/health/live`)).status).toBe(200);
    });
});

test("healthy: every dependency's state, the version and the key ages", async () => {
  const expected = {
    ingress: ["disk", "jetstream", "nats", "redis"],
    projector: ["disk", "jetstream", "keys", "nats", "postgres", "redis"],
    dashboard: ["disk", "keys", "postgres", "redis"],
  };
  for (const name of SERVICES) {
    const { status, body } = await detailed(name);
    expect({ name, status, health: body.status, reasons: body.reasons }).toEqual({
      name,
      status: 200,
      health: "healthy",
      reasons: [],
    });
    expect(body.service).toBe(name);
    expect(Object.keys(body.checks).sort()).toEqual(expected[name]);
    expect(body.version).toMatchObject({ version: pkg.version, runtime: `bun ${Bun.version}`, compiled: false });
    expect(body.checks.redis).toMatchObject({ status: "healthy", reachable: true, latencyMs: expect.any(Number) });
    const [disk] = body.checks.disk.paths;
    expect(disk.path).toEqual(expect.any(String));
    expect(disk.freeBytes).toBeGreaterThan(0);
    expect(disk.totalBytes).toBeGreaterThanOrEqual(disk.freeBytes);
  }
  const projector = (await detailed("projector")).body.checks;
  expect(projector.nats).toMatchObject({ status: "healthy", connected: true, rttMs: expect.any(Number) });
  expect(projector.jetstream.consumer).toMatchObject({ stream: "WEBHOOKS", consumer: "projector", lag: 0 });
  expect(projector.jetstream.streams.map((s: { stream: string }) => s.stream)).toEqual(["WEBHOOKS", "WEBHOOKS_DLQ"]);
  // The shared test database is a primary without streaming replicas.
  expect(projector.postgres).toMatchObject({ status: "healthy", reachable: true, role: "primary", replicas: 0 });
  for (const ring of [projector.keys.data, projector.keys.blindIndex]) {
    expect(ring.current).toEqual(expect.any(String));
    expect(ring.ageDays).toBeGreaterThanOrEqual(0);
    expect(ring.keys).toBeGreaterThanOrEqual(1);
    // Ids and dates only: no key material (32 bytes are 44 characters of base64).
    expect(JSON.stringify(ring)).not.toMatch(/[A-Za-z0-9+/]{43}=/);
  }
});

test("Redis stopped: degraded on every service (200, the reason named); healthy again when it is back", async () => {
  await redis.stop();
  try {
    for (const name of SERVICES) {
      const report = await waitFor(`${name} degraded`, async () => {
        const r = await detailed(name);
        return r.body.status === "degraded" ? r : undefined;
      });
      expect(report.status).toBe(200);
      expect(report.body.reasons).toEqual([expect.stringMatching(/^redis: /)]);
      expect(report.body.checks.redis.status).toBe("degraded");
    }
  } finally {
    await redis.start();
  }
  for (const name of SERVICES)
    await waitFor(`${name} healthy again`, async () => (await detailed(name)).body.status === "healthy");
});

test("NATS stopped: ingress and projector unhealthy (503), the dashboard unaffected; healthy when it is back", async () => {
  await cluster.nats.stop();
  try {
    for (const name of ["ingress", "projector"] as const) {
      const report = await waitFor(`${name} unhealthy`, async () => {
        const r = await detailed(name);
        return r.body.status === "unhealthy" ? r : undefined;
      });
      expect(report.status).toBe(503);
      expect(report.body.reasons).toContainEqual(expect.stringMatching(/^nats: /));
    }
    expect((await detailed("dashboard")).body.status).toBe("healthy");
  } finally {
    await cluster.nats.start();
  }
  for (const name of SERVICES)
    await waitFor(`${name} healthy again`, async () => (await detailed(name)).body.status === "healthy", 30_000);
});
