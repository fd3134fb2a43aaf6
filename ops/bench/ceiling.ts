// The ceiling: what one Bun process gets from JetStream alone — publish-with-ack of the
// same bodies, the same Nats-Msg-Id dedup and the same headers the ingress sets, with the
// same number in flight — into its own stream BENCH_CEILING (same storage settings as
// WEBHOOKS), created before and deleted after, so WEBHOOKS is never touched.

import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { messageHeaders } from "../../services/ingress/publish.ts";
import { webhookStreamConfig } from "../../shared/nats.ts";
import type { BenchRequest } from "./payloads.ts";
import { percentile } from "./stats.ts";
import type { LoadResult } from "./wrk.ts";

const CEILING_STREAM = "BENCH_CEILING";

export async function createCeilingStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(CEILING_STREAM).catch(() => false);
  // Same storage settings as WEBHOOKS, so the ceiling measures the same work.
  await jsm.streams.add(webhookStreamConfig(CEILING_STREAM, ["bench.ceiling.>"]));
}

export async function deleteCeilingStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(CEILING_STREAM).catch(() => false);
}

/** `inFlight` loops, each publishing and awaiting its PubAck, for `seconds` (bounded by the pool too). */
export async function runCeiling(
  nc: NatsConnection,
  requests: BenchRequest[],
  inFlight: number,
  seconds: number,
): Promise<LoadResult> {
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
      // The very headers the ingress builds, built the same (cheapest) way: the ceiling
      // pays the same client-side work per message, minus everything HTTP.
      const h = messageHeaders(
        {
          source: r.source,
          eventId: msgID,
          body: r.body,
          contentType: "application/json",
          method: "POST",
          query: "",
          receivedAt: Date.now(),
          providerHeaders: r.headers["webhook-id"]
            ? { "webhook-id": r.id, "webhook-timestamp": r.headers["webhook-timestamp"]! }
            : {},
        },
        msgID,
      );
      const t = performance.now();
      try {
        await js.publish(`bench.ceiling.${r.source}`, r.body, { headers: h });
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
