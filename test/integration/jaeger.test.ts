// A webhook's trace in a real Jaeger (v1.76.0 from ops/tools, in-memory): the services export
// OTLP/HTTP protobuf to it as in production, and the test reads the trace back through
// Jaeger's own query API. Sampling is parent-based with a ratio of 0: a sender's sampled
// traceparent is followed through every process, anything else is not recorded at all.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ADMIN, type Cluster, postWebhook, ROOT, signGeneric, startCluster, waitFor } from "./harness.ts";
import { type Jaeger, jaegerUiAssets, startJaeger } from "./observability.ts";

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: "CHILD_OF" | "FOLLOWS_FROM"; traceID: string; spanID: string }[];
  processID: string;
  tags: { key: string; value: unknown }[];
}
interface JaegerTrace {
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

let jaeger: Jaeger;
let cluster: Cluster;
// Jaeger's page is built from a jaeger-ui source (ops/tools jaeger-ui), which no registry
// serves: where neither the build nor JAEGER_UI_SOURCE exists, only the page test is left out.
const uiAssets = jaegerUiAssets();
if (!uiAssets) console.warn("jaeger.test: no jaeger-ui build (set JAEGER_UI_SOURCE); the page test does not run");

beforeAll(async () => {
  jaeger = await startJaeger(uiAssets);
  cluster = await startCluster(["ingress", "projector", "dashboard"], {
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    OTEL_BSP_SCHEDULE_DELAY: "100",
    // New traces are never kept; a sampled parent's always are (the standard variables).
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: "0",
  });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await jaeger?.stop();
});

const traceparent = (traceId: string, sampled: boolean) => `00-${traceId}-00f067aa0ba902b7-${sampled ? "01" : "00"}`;
const randomTraceId = () => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");

async function getTrace(traceId: string): Promise<JaegerTrace | undefined> {
  const res = await fetch(`${jaeger.url}/api/traces/${traceId}`);
  if (res.status === 404) return undefined;
  const body = (await res.json()) as { data: JaegerTrace[] };
  return body.data[0];
}

const tag = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;
const parentOf = (span: JaegerSpan) => span.references.find((r) => r.refType === "CHILD_OF")?.spanID;
const linksOf = (span: JaegerSpan) => span.references.filter((r) => r.refType === "FOLLOWS_FROM").map((r) => r.spanID);

/** Waits until the trace holds a span matching each name, then returns it with helpers. */
async function traceWith(traceId: string, names: string[]) {
  const trace = await waitFor(
    `trace ${traceId} with ${names.join(", ")}`,
    async () => {
      const t = await getTrace(traceId);
      return t && names.every((n) => t.spans.some((s) => s.operationName === n)) ? t : undefined;
    },
    30_000,
    200,
  );
  const service = (span: JaegerSpan) => trace.processes[span.processID]!.serviceName;
  const named = (name: string, by?: string) => {
    const found = trace.spans.filter((s) => s.operationName === name && (!by || service(s) === by));
    expect({ name, count: found.length }).toEqual({ name, count: 1 });
    return found[0]!;
  };
  return { trace, service, named };
}

test("one trace holds the webhook's HTTP, publish, batch, message and database spans across services", async () => {
  const traceId = randomTraceId();
  const email = "jaeger.trace@example.com";
  const req = signGeneric({ data: { "First name": "Grace", Email: email } }, "msg_jaeger_trace");
  req.headers.traceparent = traceparent(traceId, true);
  const res = await postWebhook(cluster.services.ingress!.url, "generic", req);
  expect(res.status).toBe(200);
  const { eventId } = await res.json();

  const { trace, service, named } = await traceWith(traceId, [
    "POST /v1/webhooks/:source",
    "publish webhooks.generic",
    "process webhooks.generic",
    "process WEBHOOKS",
    "projectBatch",
    "INSERT webhook_event_ids",
    "INSERT patients",
    "EVAL",
  ]);
  expect(new Set(trace.spans.map(service))).toEqual(new Set(["hookline-ingress", "hookline-projector"]));

  const server = named("POST /v1/webhooks/:source", "hookline-ingress");
  expect(parentOf(server)).toBe("00f067aa0ba902b7"); // the sender's span
  expect(tag(server, "span.kind")).toBe("server");
  expect(tag(server, "http.response.status_code")).toBe(200);

  const publish = named("publish webhooks.generic", "hookline-ingress");
  expect(parentOf(publish)).toBe(server.spanID);
  expect(tag(publish, "span.kind")).toBe("producer");
  expect(tag(publish, "messaging.message.id")).toBe(eventId);

  const message = named("process webhooks.generic", "hookline-projector");
  expect(parentOf(message)).toBe(publish.spanID);
  expect(tag(message, "span.kind")).toBe("consumer");
  for (const [key, value] of Object.entries({
    "messaging.system": "nats",
    "messaging.operation.type": "process",
    "messaging.destination.name": "webhooks.generic",
    "messaging.consumer.group.name": "projector",
  }))
    expect({ key, value: tag(message, key) }).toEqual({ key, value });

  // The batch (of one): a CONSUMER span under the message, linked to the producer's span.
  const batch = named("process WEBHOOKS", "hookline-projector");
  expect(parentOf(batch)).toBe(message.spanID);
  expect(linksOf(batch)).toEqual([publish.spanID]);
  expect(tag(batch, "span.kind")).toBe("consumer");
  expect(tag(batch, "messaging.batch.message_count")).toBe(1);
  expect(tag(batch, "messaging.operation.type")).toBe("process");
  expect(tag(batch, "messaging.consumer.group.name")).toBe("projector");

  // Its transaction, and each statement of it as a CLIENT span of the transaction.
  const tx = named("projectBatch", "hookline-projector");
  expect(parentOf(tx)).toBe(batch.spanID);
  const insert = named("INSERT webhook_event_ids", "hookline-projector");
  expect(parentOf(insert)).toBe(tx.spanID);
  expect(tag(insert, "span.kind")).toBe("client");
  expect(tag(insert, "db.system.name")).toBe("postgresql");
  expect(tag(insert, "db.operation.name")).toBe("INSERT");
  expect(tag(insert, "db.collection.name")).toBe("webhook_event_ids");
  expect(parentOf(named("INSERT patients"))).toBe(tx.spanID);
  // After the commit, the cache invalidation and the stats counters (one script each): Redis CLIENT spans of the batch.
  const scripts = trace.spans.filter((s) => s.operationName === "EVAL" && service(s) === "hookline-projector");
  expect(scripts).toHaveLength(2);
  for (const script of scripts) {
    expect(parentOf(script)).toBe(batch.spanID);
    expect(tag(script, "db.system.name")).toBe("redis");
  }

  // Attributes name operations and tables, never the patient or a statement's values.
  const everything = JSON.stringify(trace);
  for (const secret of [email, "Grace", "jaeger.trace"]) expect(everything).not.toContain(secret);
});

test("a dashboard request is a SERVER span with its Postgres and Redis calls as children", async () => {
  const [patient] = await cluster.sql<{ id: string }[]>`select id::text from patients limit 1`;
  expect(patient).toBeDefined();
  // Read once before: a pod's first read of a patient skips the cache (cache-admission.ts), the
  // traced second one looks it up in Redis.
  expect(
    (await fetch(`${cluster.services.dashboard!.url}/api/v1/patients/${patient!.id}`, { headers: ADMIN })).status,
  ).toBe(200);
  const traceId = randomTraceId();
  const res = await fetch(`${cluster.services.dashboard!.url}/api/v1/patients/${patient!.id}`, {
    headers: { ...ADMIN, traceparent: traceparent(traceId, true) },
  });
  expect(res.status).toBe(200);
  const { trace, service, named } = await traceWith(traceId, ["GET /api/v1/patients/:id", "MGET", "SELECT patients"]);
  expect(new Set(trace.spans.map(service))).toEqual(new Set(["hookline-dashboard"]));
  const server = named("GET /api/v1/patients/:id");
  expect(tag(server, "span.kind")).toBe("server");
  expect(tag(server, "http.route")).toBe("/api/v1/patients/:id");
  expect(tag(server, "http.response.status_code")).toBe(200);
  for (const child of ["MGET", "SELECT patients"]) {
    const span = named(child);
    expect(parentOf(span)).toBe(server.spanID);
    expect(tag(span, "span.kind")).toBe("client");
  }
  // The route template only: the patient's id is in no attribute.
  expect(JSON.stringify(trace.spans.map((s) => s.tags))).not.toContain(`/patients/${patient!.id}`);
});

test("parent-based ratio sampling: unsampled and new traces are not recorded anywhere", async () => {
  const unsampled = randomTraceId();
  const req = signGeneric({ data: { Email: "not.sampled@example.com" } }, "msg_jaeger_unsampled");
  req.headers.traceparent = traceparent(unsampled, false);
  expect((await postWebhook(cluster.services.ingress!.url, "generic", req)).status).toBe(200);
  const fresh = await postWebhook(
    cluster.services.ingress!.url,
    "generic",
    signGeneric({ data: { Email: "new.trace@example.com" } }, "msg_jaeger_new"),
  );
  expect(fresh.status).toBe(200);
  const freshEventId = (await fresh.json()).eventId;

  // A sampled webhook after both: once its projector spans are in Jaeger, theirs would be too.
  const sampled = randomTraceId();
  const last = signGeneric({ data: { Email: "sampled.after@example.com" } }, "msg_jaeger_after");
  last.headers.traceparent = traceparent(sampled, true);
  expect((await postWebhook(cluster.services.ingress!.url, "generic", last)).status).toBe(200);
  await traceWith(sampled, ["POST /v1/webhooks/:source", "process webhooks.generic", "projectBatch"]);

  // The new webhook's trace id (from its stored row) and the unsampled one: nothing in Jaeger.
  const events = await (await fetch(`${cluster.services.dashboard!.url}/api/v1/events`, { headers: ADMIN })).json();
  const freshTraceId = events.items.find((e: { eventId: string }) => e.eventId === freshEventId).traceId;
  expect(freshTraceId).toMatch(/^[0-9a-f]{32}$/);
  expect(await getTrace(unsampled)).toBeUndefined();
  expect(await getTrace(freshTraceId)).toBeUndefined();
});

test.if(uiAssets !== null)("Jaeger's page shows the webhook's whole trace, across both services", async () => {
  const traceId = randomTraceId();
  const req = signGeneric({ data: { "First name": "Page", Email: "jaeger.page@example.com" } }, "msg_jaeger_page");
  req.headers.traceparent = traceparent(traceId, true);
  expect((await postWebhook(cluster.services.ingress!.url, "generic", req)).status).toBe(200);
  const names = [
    "POST /v1/webhooks/:source",
    "publish webhooks.generic",
    "process WEBHOOKS",
    "INSERT patients",
    "EVAL",
  ];
  await traceWith(traceId, names);

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${jaeger.url}/trace/${traceId}`);
    // The timeline lists every span by its operation, under its service's name.
    for (const name of names) await page.getByText(name, { exact: true }).first().waitFor({ timeout: 30_000 });
    const text = (await page.locator("body").textContent()) ?? "";
    for (const service of ["hookline-ingress", "hookline-projector"]) expect(text).toContain(service);
    expect(text).not.toContain("jaeger.page@example.com");
    const artifacts = join(ROOT, "test-artifacts");
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, "jaeger-trace.png") });
  } finally {
    await browser.close();
  }
});
