// No patient data in logs or trace attributes (issue #10 item 5). A patient with a unique
// email, phone and name goes through the whole pipeline, is searched for on the dashboard with
// GET ?q= (the query string a proxy would log) and with POST …/search, opened, and looked for
// in a way that fails in the database; all three services log at the most verbose level and
// export their spans. Their whole output and every exported OTLP request body must hold none
// of the patient's values.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ADMIN, type Cluster, freePort, otlpEnv, postWebhook, signGeneric, startCluster, waitFor } from "./harness.ts";

const suffix = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
const EMAIL = `zora.redact.${suffix}@example.com`;
const PHONE = `+49176${suffix.slice(-8)}`;
const LAST_NAME = `Quenzelhuber${suffix.slice(-6).replace(/\d/g, (d) => "abcdefghij"[Number(d)]!)}`;

let cluster: Cluster;
let otlp: { endpoint: string; bodies: string[]; stop(): void };

/** An OTLP/HTTP JSON receiver that keeps every request body whole (names, attributes, events, status). */
async function rawOtlpReceiver() {
  const bodies: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: await freePort(),
    async fetch(req) {
      bodies.push(`${new URL(req.url).pathname} ${await req.text()}`);
      return Response.json({});
    },
  });
  return { endpoint: `http://127.0.0.1:${server.port}`, bodies, stop: () => server.stop(true) };
}

beforeAll(async () => {
  otlp = await rawOtlpReceiver();
  cluster = await startCluster(["ingress", "projector", "dashboard"], {
    ...otlpEnv(otlp.endpoint),
    LOG_LEVEL: "trace",
  });
});

afterAll(async () => {
  await cluster?.stop();
  otlp?.stop();
});

test("after ingest, searches (GET and POST), a detail read and a failing search, no patient value is logged or traced", async () => {
  const res = await postWebhook(
    cluster.services.ingress!.url,
    "generic",
    signGeneric(
      { data: { Vorname: "Zora", Nachname: LAST_NAME, "E-Mail": EMAIL, Telefon: PHONE, Geburtsdatum: "1971-02-03" } },
      `msg_redact_${suffix}`,
    ),
  );
  expect(res.status).toBe(200);
  const { eventId } = await res.json();
  const dashboard = cluster.services.dashboard!.url;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${dashboard}${path}`, { ...init, headers: { ...ADMIN, "content-type": "application/json" } });

  const found = await waitFor("the patient", async () => {
    const r = await (await api(`/api/v1/patients?q=${encodeURIComponent(EMAIL)}`)).json();
    return r.items?.[0];
  });
  expect(found.lastName).toBe(LAST_NAME);
  const viaPost = await (
    await api("/api/v1/patients/search", { method: "POST", body: JSON.stringify({ q: PHONE }) })
  ).json();
  expect(viaPost.items.map((p: { id: string }) => p.id)).toEqual([found.id]);
  expect((await api(`/api/v1/patients/${found.id}`)).status).toBe(200);
  expect((await api(`/api/v1/patients?q=${encodeURIComponent(LAST_NAME)}`)).status).toBe(200);
  // Fails in Postgres (a NUL in a text parameter; a name is searched in clear, an email by blind
  // index): the error path logs, and must not quote the term.
  expect((await api(`/api/v1/patients?q=${encodeURIComponent(`${LAST_NAME}\u0000`)}`)).status).toBe(400);
  expect((await api("/api/v1/events?include=canonical")).status).toBe(200);

  // The spans of this webhook have arrived (the projector's last), so the export ran after all of the above.
  await waitFor("the projector's span", () => otlp.bodies.some((b) => b.includes(eventId)), 20_000);
  await Bun.sleep(500); // one more export period (100 ms) for the dashboard's requests' spans, if any

  const outputs = Object.entries(cluster.services).map(([name, s]) => [name, s!.output()] as const);
  // Non-vacuous: the services did log at trace level, and spans were exported.
  for (const [name, output] of outputs) expect([name, output.length > 0]).toEqual([name, true]);
  const traced = new Set(
    otlp.bodies.flatMap((b) => [...b.matchAll(/"service\.name","value":\{"stringValue":"([^"]+)"/g)].map((m) => m[1])),
  );
  expect(traced).toContain("hookline-ingress");
  expect(traced).toContain("hookline-projector");

  const values = [EMAIL, EMAIL.split("@")[0]!, PHONE, PHONE.slice(1), LAST_NAME, encodeURIComponent(EMAIL)];
  const leaks = [
    ...outputs.map(([name, output]) => [`${name} output`, output] as const),
    ...otlp.bodies.map((b, i) => [`OTLP body ${i}`, b] as const),
  ].flatMap(([where, text]) => values.filter((v) => text.includes(v)).map((v) => `${where} holds ${v}`));
  expect(leaks).toEqual([]);
});
