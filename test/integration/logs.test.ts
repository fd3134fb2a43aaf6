// Log lines of the running services (issue #12 item 4): JSON from pino; a line written inside
// a span carries that span's trace_id and span_id (the services export real spans to an OTLP
// receiver here, so the ids are checked against what was exported); a line written during an
// HTTP request carries its request_id, which the response echoes (the caller's when well
// formed, else a new one); and secrets and patient data sent in requests never appear.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  ADMIN,
  type Cluster,
  otlpEnv,
  postWebhook,
  type ReceivedSpan,
  type ServiceName,
  signGeneric,
  startCluster,
  startOtlpReceiver,
  waitFor,
} from "./harness.ts";

const tag = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
// Values that must never reach a log line; unique, so a hit cannot be chance.
const SECRETS = {
  heyflowToken: `SecretHeyflowToken${tag}`,
  signature: `v1,SecretSignature${tag}`,
  bearer: `SecretBearer${tag}`,
  cookie: `SecretCookie${tag}`,
};
const PATIENT = { email: `patient.marker.${tag}@example.com`, name: `Zorblatt${tag.slice(-6)}` };

let cluster: Cluster;
let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  cluster = await startCluster(["ingress", "projector", "dashboard"], {
    ...otlpEnv(otlp.endpoint),
    LOG_LEVEL: "trace",
  });
});

afterAll(async () => {
  await cluster?.stop();
  otlp?.stop();
});

/** The service's output as JSON lines (pino writes nothing else). */
function lines(name: ServiceName): Record<string, unknown>[] {
  return cluster.services[name]!.output()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`${name} wrote a line that is not JSON: ${line}`);
      }
    });
}

const spanWithIds = (traceId: unknown, spanId: unknown) =>
  waitFor("the span the line names", () =>
    otlp.spans.find((s: ReceivedSpan) => s.traceId === traceId && s.spanId === spanId),
  );

describe("trace ids on lines written inside a span", () => {
  test("ingress: the warning about a quarantined webhook carries its HTTP span's ids and the request id", async () => {
    const req = signGeneric("{not json", `msg_logs_${tag}_bad`);
    req.headers["x-request-id"] = `logs-${tag}-quarantine`;
    const res = await postWebhook(cluster.services.ingress!.url, "generic", req);
    expect(res.status).toBe(400);
    expect(res.headers.get("x-request-id")).toBe(`logs-${tag}-quarantine`);
    const line = await waitFor("the quarantine line", () =>
      lines("ingress").find(
        (l) => l.msg === "quarantined unparseable webhook" && l.request_id === `logs-${tag}-quarantine`,
      ),
    );
    expect(line.trace_id).toMatch(/^[\da-f]{32}$/);
    expect(line.span_id).toMatch(/^[\da-f]{16}$/);
    const span = await spanWithIds(line.trace_id, line.span_id);
    expect({ service: span.service, name: span.name }).toEqual({
      service: "hookline-ingress",
      name: "POST /v1/webhooks/:source",
    });
  });

  test("projector: a batch's line carries the batch span's ids", async () => {
    const res = await postWebhook(
      cluster.services.ingress!.url,
      "generic",
      signGeneric({ data: { "E-Mail": `traced.${tag}@example.com` } }, `msg_logs_${tag}_ok`),
    );
    expect(res.status).toBe(200);
    const line = await waitFor("a batch line with span ids", () =>
      lines("projector").find((l) => l.msg === "batch committed" && l.trace_id && l.inserted === 1),
    );
    const span = await spanWithIds(line.trace_id, line.span_id);
    expect({ service: span.service, name: span.name }).toEqual({
      service: "hookline-projector",
      name: "process WEBHOOKS",
    });
    // No request there: the projector's batches run outside any HTTP request.
    expect(line.request_id).toBeUndefined();
  });

  test("a line outside any span or request carries neither", () => {
    const started = lines("ingress").find((l) => l.msg === "ingress listening")!;
    expect(started).toBeDefined();
    expect([started.trace_id, started.span_id, started.request_id]).toEqual([undefined, undefined, undefined]);
  });
});

describe("request ids", () => {
  for (const name of ["ingress", "projector", "dashboard"] as const)
    test(`${name}: a well-formed X-Request-Id is echoed, a malformed or missing one replaced by a new id`, async () => {
      const url = `${cluster.services[name]!.url}/health/live`;
      const given = await fetch(url, { headers: { "x-request-id": "abc-123_DEF.456:7" } });
      expect(given.headers.get("x-request-id")).toBe("abc-123_DEF.456:7");
      const uuid = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/;
      for (const bad of ["has spaces in it", "x".repeat(129), '"quoted"', "a\tb"]) {
        const res = await fetch(url, { headers: { "x-request-id": bad } });
        expect(res.headers.get("x-request-id")).toMatch(uuid);
      }
      const a = (await fetch(url)).headers.get("x-request-id");
      const b = (await fetch(url)).headers.get("x-request-id");
      expect(a).toMatch(uuid);
      expect(b).not.toBe(a);
    });
});

test("secrets and patient data sent in requests reach no log line of any service", async () => {
  const ingress = cluster.services.ingress!.url;
  const dashboard = cluster.services.dashboard!.url;
  // A wrong HeyFlow token, a forged signature, a cookie: each refused.
  const heyflow = await fetch(`${ingress}/v1/webhooks/heyflow`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-webhook-token": SECRETS.heyflowToken, cookie: SECRETS.cookie },
    body: JSON.stringify({ fields: { Email: PATIENT.email } }),
  });
  expect(heyflow.status).toBe(401);
  const forged = signGeneric({ data: { "E-Mail": PATIENT.email } }, `msg_logs_${tag}_forged`);
  forged.headers["webhook-signature"] = SECRETS.signature;
  expect((await postWebhook(ingress, "generic", forged)).status).toBe(401);
  // Signed but unparseable (logged as quarantined), holding patient data.
  expect(
    (await postWebhook(ingress, "generic", signGeneric(`{"Name":"${PATIENT.name}",`, `msg_logs_${tag}_q`))).status,
  ).toBe(400);
  // Projected: a patient with the marked name and email.
  expect(
    (
      await postWebhook(
        ingress,
        "generic",
        signGeneric({ data: { "Last name": PATIENT.name, "E-Mail": PATIENT.email } }, `msg_logs_${tag}_p`),
      )
    ).status,
  ).toBe(200);
  // The dashboard: a bad bearer token, on the API and on /health/detailed; searches for the patient.
  for (const path of ["/api/v1/patients", "/health/detailed"])
    expect(
      (await fetch(`${dashboard}${path}`, { headers: { authorization: `Bearer ${SECRETS.bearer}` } })).status,
    ).toBe(401);
  await waitFor("the patient", async () => {
    const res = await fetch(`${dashboard}/api/v1/patients/search`, {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/json", cookie: SECRETS.cookie },
      body: JSON.stringify({ q: PATIENT.email }),
    });
    return ((await res.json()) as { items: unknown[] }).items.length === 1;
  });
  // A search the database refuses (a NUL) takes the error path.
  expect((await fetch(`${dashboard}/api/v1/patients?q=${PATIENT.name}%00`, { headers: ADMIN })).status).toBe(400);

  const all = (["ingress", "projector", "dashboard"] as const)
    .map((name) => cluster.services[name]!.output())
    .join("\n");
  // Every line is JSON, and the services did log (LOG_LEVEL=trace).
  for (const name of ["ingress", "projector", "dashboard"] as const) expect(lines(name).length).toBeGreaterThan(0);
  const found = [...Object.values(SECRETS), PATIENT.email, PATIENT.name].filter((marker) => all.includes(marker));
  expect(found).toEqual([]);
});
