// One trace per webhook, across processes: the ingress's HTTP span, its publish, and the
// projector's processing of that message, exported over OTLP as Jaeger/Tempo receive it;
// the stored event row carries the trace id.
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  ADMIN,
  type Cluster,
  otlpEnv,
  postWebhook,
  signGeneric,
  startCluster,
  startOtlpReceiver,
  waitFor,
} from "./harness.ts";

let cluster: Cluster;
let collector: Awaited<ReturnType<typeof startOtlpReceiver>>;

beforeAll(async () => {
  collector = await startOtlpReceiver();
  cluster = await startCluster(["ingress", "projector", "dashboard"], {
    ...otlpEnv(collector.endpoint),
    // What the Helm chart sets from the downward API.
    OTEL_RESOURCE_ATTRIBUTES: "k8s.pod.name=hookline-test-pod,k8s.namespace.name=hookline-test",
  });
});

afterAll(async () => {
  await cluster?.stop();
  collector?.stop();
});

test("a webhook's trace runs from the HTTP request to the database row", async () => {
  const res = await postWebhook(
    cluster.services.ingress!.url,
    "generic",
    signGeneric({ data: { Email: "traced@example.com" } }, "msg_traced"),
  );
  expect(res.status).toBe(200);
  const { eventId } = await res.json();

  const processed = await waitFor(
    "projector span",
    () =>
      collector.spans.find(
        (s) => s.service === "hookline-projector" && s.attributes["messaging.message.id"] === eventId,
      ),
    20_000,
  );
  const trace = collector.spans.filter((s) => s.traceId === processed.traceId);
  const server = await waitFor(
    "ingress span",
    () =>
      collector.spans.find((s) => s.traceId === processed.traceId && s.service === "hookline-ingress" && s.kind === 2),
    20_000,
  );
  expect(server.name).toBe("POST /v1/webhooks/:source");
  expect(server.attributes).toMatchObject({
    "hookline.source": "generic",
    "hookline.event_id": eventId,
    "http.response.status_code": 200,
  });
  const publish = collector.spans.find(
    (s) => s.traceId === processed.traceId && s.name === "publish webhooks.generic",
  )!;
  expect(publish.parentSpanId).toBe(server.spanId);
  expect(processed.parentSpanId).toBe(publish.spanId);
  expect(trace.length).toBeGreaterThanOrEqual(3);
  // OTEL_RESOURCE_ATTRIBUTES reaches every service's resource.
  for (const s of [server, publish, processed])
    expect(s.resource).toMatchObject({ "k8s.pod.name": "hookline-test-pod", "k8s.namespace.name": "hookline-test" });

  const batch = await waitFor("batch span", () =>
    collector.spans.find((s) => s.name === "projectBatch" && s.links.some((l) => l.spanId === processed.spanId)),
  );
  expect(batch.attributes["db.system.name"]).toBe("postgresql");

  const events = await (await fetch(`${cluster.services.dashboard!.url}/api/v1/events`, { headers: ADMIN })).json();
  expect(events.items.find((e: { eventId: string }) => e.eventId === eventId).traceId).toBe(processed.traceId);
});

test("a sender's own traceparent is continued, not replaced", async () => {
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const req = signGeneric({ data: { Email: "parented@example.com" } }, "msg_parented");
  req.headers.traceparent = `00-${traceId}-00f067aa0ba902b7-01`;
  expect((await postWebhook(cluster.services.ingress!.url, "generic", req)).status).toBe(200);
  const server = await waitFor("ingress span in the sender's trace", () =>
    collector.spans.find((s) => s.traceId === traceId && s.service === "hookline-ingress" && s.kind === 2),
  );
  expect(server.parentSpanId).toBe("00f067aa0ba902b7");
  await waitFor("projector span in the sender's trace", () =>
    collector.spans.find((s) => s.traceId === traceId && s.service === "hookline-projector"),
  );
});
