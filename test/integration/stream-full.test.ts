// A full WEBHOOKS stream (projector stalled, STREAM_MAX_BYTES reached): JetStream must
// refuse new webhooks rather than discard stored ones. Every webhook answered 200 stays in
// the stream until projected; the refused ones get 503 queue_full with Retry-After, at
// once; the fill shows on /metrics; once the projector drains, webhooks are accepted again.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { PATIENTS } from "../../shared/db/sealed.ts";
import { H, STREAM } from "../../shared/nats.ts";
import { openRows, patientByEmail } from "../keys.ts";
import { type Cluster, postWebhook, signGeneric, startCluster, waitFor } from "./harness.ts";

const MAX_BYTES = 20_000;
let cluster: Cluster;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  // The ingress alone: nothing consumes, as during a database outage or a stalled projector.
  cluster = await startCluster(["ingress"], { STREAM_MAX_BYTES: String(MAX_BYTES), RETRY_DELAY_MS: "100" });
  nc = await connect({ servers: cluster.nats.url });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

/** Event ids of every message WEBHOOKS holds, read by sequence. */
async function storedEventIds(): Promise<string[]> {
  const info = await jsm.streams.info(STREAM);
  const ids: string[] = [];
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(STREAM, { seq }).catch(() => null);
    if (m) ids.push(m.header.get(H.eventId));
  }
  return ids;
}

function metric(text: string, name: string, stream: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(`stream="${stream}"`));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : undefined;
}

test("a full stream refuses new webhooks (503 queue_full) and discards none it acknowledged", async () => {
  const ingress = cluster.services.ingress!;
  const accepted: string[] = [];
  let refused: Response | undefined;
  let refusedMs = 0;
  for (let i = 0; i < 2000 && !refused; i++) {
    const started = performance.now();
    const res = await postWebhook(
      ingress.url,
      "generic",
      signGeneric({ data: { Email: `full${i}@example.com`, note: "x".repeat(200) } }, `msg_full_${i}`),
    );
    if (res.status === 200) accepted.push((await res.json()).eventId);
    else {
      refused = res;
      refusedMs = performance.now() - started;
    }
  }
  expect(refused?.status).toBe(503);
  expect(refused!.headers.get("retry-after")).toMatch(/^\d+$/);
  expect((await refused!.json()).error.code).toBe("queue_full");
  // Refused by JetStream at once, not after a publish timeout (generous bound).
  expect(refusedMs).toBeLessThan(1000);
  console.log(`stream full after ${accepted.length} webhooks; refusal answered in ${refusedMs.toFixed(0)} ms`);

  // Still full: a second new webhook is refused too, and nothing stored was dropped for it.
  const again = await postWebhook(
    ingress.url,
    "generic",
    signGeneric({ data: { Email: "again@example.com", note: "x".repeat(400) } }, "msg_full_again"),
  );
  expect(again.status).toBe(503);
  // A provider retrying an event already stored is still told it was received.
  const retry = await postWebhook(
    ingress.url,
    "generic",
    signGeneric({ data: { Email: "full0@example.com", note: "x".repeat(200) } }, "msg_full_0"),
  );
  expect(retry.status).toBe(200);
  expect((await retry.json()).duplicate).toBe(true);

  expect(accepted.length).toBeGreaterThan(5);
  expect((await storedEventIds()).sort()).toEqual([...accepted].sort());

  // The fill shows on the ingress's /metrics (read from stream info in the background).
  const text = await waitFor(
    "stream fill on /metrics",
    async () => {
      const t = await (await fetch(`${ingress.url}/metrics`)).text();
      return metric(t, "hookline_stream_messages", STREAM) === accepted.length ? t : undefined;
    },
    20_000,
    250,
  );
  expect(metric(text, "hookline_stream_max_bytes", STREAM)).toBe(MAX_BYTES);
  expect(metric(text, "hookline_stream_bytes", STREAM)).toBeGreaterThan(MAX_BYTES * 0.8);
  expect(metric(text, "hookline_stream_fill_ratio", STREAM)).toBeGreaterThan(0.8);
  expect(metric(text, "hookline_stream_max_bytes", "WEBHOOKS_DLQ")).toBeGreaterThan(0);

  // The projector comes back: it drains the stream (each projected message leaves it) and
  // every acknowledged webhook becomes a patient.
  await cluster.restart("projector");
  await waitFor(
    "every accepted webhook projected",
    async () => {
      const full = (await openRows(cluster.sql, PATIENTS)).filter((p) => /^full.*@example\.com$/.test(p.email ?? ""));
      return full.length === accepted.length;
    },
    60_000,
    200,
  );
  await waitFor("stream drained", async () => (await jsm.streams.info(STREAM)).state.messages === 0, 20_000, 100);
  const after = await postWebhook(
    ingress.url,
    "generic",
    signGeneric({ data: { Email: "after-full@example.com" } }, "msg_after_full"),
  );
  expect(after.status).toBe(200);
  await waitFor(
    "post-drain webhook projected",
    async () => (await patientByEmail(cluster.sql, "after-full@example.com")) !== undefined,
    30_000,
  );
}, 150_000);
