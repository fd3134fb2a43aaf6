// The ceiling: what one Bun process gets from JetStream alone — publish-with-ack of the
// same bodies, the same Nats-Msg-Id dedup and the same headers the ingress sets, with the
// same number in flight — into its own stream BENCH_CEILING (same storage settings as
// WEBHOOKS), created before and deleted after, so WEBHOOKS is never touched.
import { headers as natsHeaders, nanos, type NatsConnection } from "@nats-io/nats-core";
import { DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { DEFAULT_STREAM_LIMITS, H } from "../../shared/nats.ts";
import type { BenchRequest } from "./payloads.ts";
import { percentile } from "./stats.ts";
import type { LoadResult } from "./wrk.ts";

export const CEILING_STREAM = "BENCH_CEILING";

export async function createCeilingStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(CEILING_STREAM).catch(() => false);
  await jsm.streams.add({
    name: CEILING_STREAM,
    subjects: ["bench.ceiling.>"],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(DEFAULT_STREAM_LIMITS.maxAgeHours * 3600_000),
    max_bytes: DEFAULT_STREAM_LIMITS.maxBytes,
    duplicate_window: nanos(DEFAULT_STREAM_LIMITS.duplicateWindowSeconds * 1000),
    num_replicas: DEFAULT_STREAM_LIMITS.replicas,
  });
}

export async function deleteCeilingStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(CEILING_STREAM).catch(() => false);
}

/** `inFlight` loops, each publishing and awaiting its PubAck, for `seconds` (bounded by the pool too). */
export async function runCeiling(nc: NatsConnection, requests: BenchRequest[], inFlight: number, seconds: number): Promise<LoadResult> {
  const js = jetstream(nc, { timeout: 10_000 });
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  async function loop() {
    // Bounded by time and by count (10 passes over the pool); a later pass suffixes the
    // msg id, so every publish stays a distinct message, as in the HTTP runs.
    while (performance.now() < deadline && next < requests.length * 10) {
      const n = next++;
      const r = requests[n % requests.length]!;
      const cycle = Math.floor(n / requests.length);
      const msgID = cycle === 0 ? r.id : `${r.id}~${cycle}`;
      const h = natsHeaders();
      h.set(H.source, r.source);
      h.set(H.eventId, msgID);
      h.set(H.receivedAt, String(Date.now()));
      h.set(H.contentType, "application/json");
      h.set(H.method, "POST");
      if (r.headers["webhook-id"]) h.set(H.providerHeaders, JSON.stringify({ "webhook-id": r.id, "webhook-timestamp": r.headers["webhook-timestamp"] }));
      const t = performance.now();
      try {
        await js.publish(`bench.ceiling.${r.source}`, r.body, { msgID, headers: h });
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  }
  await Promise.all(Array.from({ length: inFlight }, loop));
  const durationS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    connections: inFlight,
    durationS,
    requests: latencies.length + errors,
    ok: latencies.length,
    errors,
    rps: Math.round(latencies.length / durationS),
    latencyMs: {
      p50: r3(percentile(latencies, 50)),
      p90: r3(percentile(latencies, 90)),
      p99: r3(percentile(latencies, 99)),
      max: r3(latencies.at(-1) ?? 0),
      mean: r3(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)),
    },
    wrapped: false,
  };
}
