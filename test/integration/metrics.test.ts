// Prometheus metrics of the three services (issue #12 item 2): each /metrics passes
// `promtool check metrics` with no complaint (every metric has HELP, names follow the
// conventions), and the series named in METRICS count what the test did: webhooks by source
// and outcome, ack and publish latency, dead letters, projector batches, dashboard requests by
// route template, cache hits and misses, process and runtime gauges, and the consumer lag
// equal to a backlog built while no projector could project.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { METRICS } from "../../shared/metrics.ts";
import {
  ADMIN,
  type Cluster,
  freePort,
  postWebhook,
  type ServiceName,
  signGeneric,
  startCluster,
  waitFor,
} from "./harness.ts";
import { parseSamples, promtoolCheckMetrics, sampleValue } from "./prom-text.ts";

const ACCEPTED = 7;
const tag = `m${Date.now()}`;
const person = (i: number) => ({
  data: { "First name": `Metric${i}`, "Last name": "Count", "E-Mail": `metrics.${tag}.${i}@example.com` },
});

let cluster: Cluster;
const scrape = async (name: ServiceName) => (await fetch(`${cluster.services[name]!.url}/metrics`)).text();

beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector", "dashboard"]);
  const ingress = cluster.services.ingress!.url;
  for (let i = 0; i < ACCEPTED; i++)
    expect((await postWebhook(ingress, "generic", signGeneric(person(i), `msg_${tag}_${i}`))).status).toBe(200);
  // One duplicate, one bad signature, one unknown source, one signed but unparseable body.
  expect((await (await postWebhook(ingress, "generic", signGeneric(person(0), `msg_${tag}_0`))).json()).duplicate).toBe(
    true,
  );
  const forged = signGeneric(person(99), `msg_${tag}_forged`);
  forged.headers["webhook-signature"] = "v1,AAAA";
  expect((await postWebhook(ingress, "generic", forged)).status).toBe(401);
  expect((await postWebhook(ingress, "no-such-source", signGeneric(person(98), `msg_${tag}_x`))).status).toBe(404);
  expect((await postWebhook(ingress, "generic", signGeneric("[not json", `msg_${tag}_bad`))).status).toBe(400);
  await waitFor("projection", async () => {
    const n = sampleValue(await scrape("projector"), METRICS.projectorEvents.name, { result: "inserted" });
    return n === ACCEPTED;
  });
});

afterAll(async () => {
  await cluster?.stop();
});

describe("promtool check metrics", () => {
  for (const name of ["ingress", "projector", "dashboard"] as const)
    test(`${name}: no errors, no lint warnings, every metric has HELP`, async () => {
      const text = await scrape(name);
      expect(promtoolCheckMetrics(text)).toEqual({ exitCode: 0, output: "" });
      // The OTel exporter writes this placeholder HELP for a metric created without one.
      expect(text).not.toContain("description missing");
      const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
      const helped = new Set([...text.matchAll(/^# HELP (\S+) \S/gm)].map((m) => m[1]));
      expect(families.filter((f) => !helped.has(f))).toEqual([]);
    });
});

test("ingress: webhooks by source and outcome, exactly as posted; ack and publish latency; dead letters", async () => {
  const text = await scrape("ingress");
  const received = (source: string, outcome: string) =>
    sampleValue(text, METRICS.webhooksReceived.name, { source, outcome });
  expect(received("generic", "accepted")).toBe(ACCEPTED);
  expect(received("generic", "duplicate")).toBe(1);
  expect(received("generic", "unauthorized")).toBe(1);
  expect(received("generic", "quarantined")).toBe(1);
  // An unconfigured path segment is never a label value.
  expect(received("unknown", "unknown_source")).toBe(1);
  expect(text).not.toContain("no-such-source");
  // Every 200 (accepted and duplicate) has its ack time, by source; every publish its PubAck time.
  const ack = `${METRICS.webhookAckDuration.name}_count`;
  expect(sampleValue(text, ack, { source: "generic" })).toBe(ACCEPTED + 1);
  expect(sampleValue(text, `${METRICS.webhookAckDuration.name}_bucket`, { source: "generic", le: "+Inf" })).toBe(
    ACCEPTED + 1,
  );
  expect(sampleValue(text, `${METRICS.publishDuration.name}_count`)).toBe(ACCEPTED + 1);
  expect(sampleValue(text, `${METRICS.webhookAckDuration.name}_sum`, { source: "generic" })).toBeGreaterThan(0);
  expect(sampleValue(text, METRICS.deadLetters.name, { source: "generic", code: "unparseable_body" })).toBe(1);
  expect(sampleValue(text, METRICS.inFlight.name)).toBe(0);
  // The quarantined webhook is in the DLQ; WEBHOOKS is drained (stream info read every 5 s).
  await waitFor("stream gauges", async () => {
    const t = await scrape("ingress");
    return (
      sampleValue(t, METRICS.streamMessages.name, { stream: "WEBHOOKS_DLQ" }) === 1 &&
      sampleValue(t, METRICS.streamMessages.name, { stream: "WEBHOOKS" }) === 0
    );
  });
});

test("projector: events, batch sizes and durations", async () => {
  const text = await scrape("projector");
  expect(sampleValue(text, METRICS.projectorEvents.name, { result: "inserted" })).toBe(ACCEPTED);
  expect(sampleValue(text, METRICS.projectorEvents.name, { result: "dead_lettered" })).toBe(0);
  // The duplicate never reached the stream (JetStream deduplicated it): 7 messages in all batches.
  expect(sampleValue(text, `${METRICS.projectorBatchSize.name}_sum`)).toBe(ACCEPTED);
  const batches = sampleValue(text, `${METRICS.projectorBatchSize.name}_count`)!;
  expect(batches).toBeGreaterThanOrEqual(1);
  expect(sampleValue(text, `${METRICS.projectorBatchDuration.name}_count`)).toBe(batches);
});

test("dashboard: request latency by route template (never the path), cache hits and misses", async () => {
  const dashboard = cluster.services.dashboard!.url;
  const found = await (
    await fetch(`${dashboard}/api/v1/patients?q=metrics.${tag}.1@example.com`, { headers: ADMIN })
  ).json();
  const id = found.items[0].id as string;
  for (let i = 0; i < 3; i++)
    expect((await fetch(`${dashboard}/api/v1/patients/${id}`, { headers: ADMIN })).status).toBe(200);
  expect((await fetch(`${dashboard}/api/v1/patients/${id}`)).status).toBe(401);
  expect((await fetch(`${dashboard}/no/such/page/${id}`)).status).toBe(404);
  const text = await scrape("dashboard");
  const count = (route: string, status: string, method = "GET") =>
    sampleValue(text, `${METRICS.dashboardRequestDuration.name}_count`, { method, route, status });
  expect(count("/api/v1/patients/:id", "200")).toBe(3);
  expect(count("/api/v1/patients/:id", "401")).toBe(1);
  expect(count("/api/v1/patients", "200")).toBe(1);
  expect(count("unmatched", "404")).toBe(1);
  const routes = new Set(
    parseSamples(text)
      .filter((s) => s.name.startsWith(METRICS.dashboardRequestDuration.name))
      .map((s) => s.labels.route),
  );
  expect([...routes].filter((r) => r?.includes(id) || r?.includes("?"))).toEqual([]);
  // The first two reads missed and the second filled the cache (a detail is stored on its second
  // miss: services/dashboard/cache-admission.ts); the third was answered from it.
  expect(sampleValue(text, METRICS.cacheMisses.name)).toBe(2);
  expect(sampleValue(text, METRICS.cacheHits.name)).toBe(1);
  expect(sampleValue(text, METRICS.cacheErrors.name)).toBe(0);
});

test("every service: process and runtime metrics, and the build's version", async () => {
  for (const name of ["ingress", "projector", "dashboard"] as const) {
    const text = await scrape(name);
    expect(sampleValue(text, METRICS.buildInfo.name, { version: pkg.version, runtime: `bun ${Bun.version}` })).toBe(1);
    expect(sampleValue(text, METRICS.processResidentMemory.name)).toBeGreaterThan(10 * 1024 * 1024);
    expect(sampleValue(text, METRICS.processCpu.name)).toBeGreaterThan(0);
    const start = sampleValue(text, METRICS.processStartTime.name)!;
    expect(Math.abs(start - Date.now() / 1000)).toBeLessThan(600);
    expect(sampleValue(text, METRICS.processOpenFds.name)).toBeGreaterThan(3);
    expect(sampleValue(text, METRICS.processMaxFds.name)).toBeGreaterThan(
      sampleValue(text, METRICS.processOpenFds.name)!,
    );
    expect(sampleValue(text, METRICS.heapUsed.name)).toBeGreaterThan(0);
    expect(sampleValue(text, METRICS.heapSize.name)).toBeGreaterThan(0);
    const p50 = sampleValue(text, METRICS.eventLoopDelayP50.name)!;
    const max = sampleValue(text, METRICS.eventLoopDelayMax.name)!;
    expect(p50).toBeGreaterThan(0);
    expect(sampleValue(text, METRICS.eventLoopDelayP99.name)).toBeGreaterThanOrEqual(p50);
    expect(max).toBeGreaterThanOrEqual(p50);
    expect(max).toBeLessThan(60);
  }
});

test("consumer lag: a backlog built while the projector is stopped, then held by it while it cannot write, then 0", async () => {
  const BACKLOG = 5;
  const lagOf = async (name: ServiceName) =>
    sampleValue(await scrape(name), METRICS.consumerLag.name, { stream: "WEBHOOKS", consumer: "projector" });
  await cluster.services.projector!.kill();
  delete cluster.services.projector;
  for (let i = 0; i < BACKLOG; i++) {
    const res = await postWebhook(
      cluster.services.ingress!.url,
      "generic",
      signGeneric(person(100 + i), `lag_${tag}_${i}`),
    );
    expect(res.status).toBe(200);
  }
  // The ingress reads the consumer's state too, so the lag shows while no projector runs.
  await waitFor("ingress lag", async () => (await lagOf("ingress")) === BACKLOG);
  // A batch's write to patients waits for this lock (start-up only reads the table): the
  // projector takes the messages but cannot ack them, so they stay in the lag as ack-pending.
  const conn = await cluster.sql.reserve();
  try {
    await conn`begin`;
    await conn`lock table patients in share mode`;
    await cluster.restart("projector");
    const labels = { stream: "WEBHOOKS", consumer: "projector" };
    // Read every 5 s: at first, before the projector took them, the backlog is all num_pending.
    await waitFor("the backlog ack-pending at the projector", async () => {
      const text = await scrape("projector");
      return (
        sampleValue(text, METRICS.consumerAckPending.name, labels) === BACKLOG &&
        sampleValue(text, METRICS.consumerPending.name, labels) === 0
      );
    });
    expect(await lagOf("projector")).toBe(BACKLOG);
    expect(await lagOf("ingress")).toBe(BACKLOG);
  } finally {
    await conn`rollback`;
    conn.release();
  }
  await waitFor("drained", async () => (await lagOf("projector")) === 0 && (await lagOf("ingress")) === 0, 30_000);
});

test("the dashboard with METRICS_PORT (as the chart runs it): /metrics only there, not where the API and page are served", async () => {
  const metricsPort = await freePort();
  const dashboard = await cluster.restart("dashboard", { METRICS_PORT: String(metricsPort) });
  const onApiPort = await fetch(`${dashboard.url}/metrics`);
  expect(onApiPort.status).toBe(404);
  expect((await fetch(`${dashboard.url}/health/live`)).status).toBe(200);
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(promtoolCheckMetrics(text)).toEqual({ exitCode: 0, output: "" });
  expect(sampleValue(text, METRICS.buildInfo.name, { version: pkg.version, runtime: `bun ${Bun.version}` })).toBe(1);
  // The 404 above was counted by the API port's request metrics, served here.
  expect(
    sampleValue(text, `${METRICS.dashboardRequestDuration.name}_count`, {
      method: "GET",
      route: "unmatched",
      status: "404",
    }),
  ).toBe(1);
});
