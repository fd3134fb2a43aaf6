// Suite "e2e": an open-loop load at a fixed rate (half the measured maximum) through the
// whole pipeline with the projector running; for a sample of requests, the time from the
// ingress's 200 until the patient is visible through the dashboard API. Ingest latency
// here is measured from each request's scheduled send time, so a stalled server cannot
// hide its queueing (no coordinated omission).
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { STREAM } from "../../shared/nats.ts";
import type { Cluster } from "./cluster.ts";
import { makeRequest, type BenchRequest } from "./payloads.ts";
import { progress } from "./progress.ts";
import { meter, type ResourceUsage } from "./resources.ts";
import { percentile } from "./stats.ts";

export interface E2eResult {
  offeredRps: number;
  achievedRps: number;
  sent: number;
  ok: number;
  errors: number;
  /** Requests not sent because too many were outstanding (the server fell behind). */
  shed: number;
  /** Pipeline phase (projector running): from scheduled send to the 200. */
  ingestLatencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Same rate, projector stopped: the ingress's own latency at half load. */
  ingressAlone: { achievedRps: number; errors: number; shed: number; latencyMs: { p50: number; p90: number; p99: number; max: number } };
  visibleLatencyMs: { samples: number; found: number; p50: number; p90: number; p99: number; max: number };
  resources: Record<string, ResourceUsage>;
}

const MAX_OUTSTANDING = 2000;
const POLL_EVERY_MS = 5;
const VISIBLE_TIMEOUT_MS = 15_000;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function summary(sorted: number[]) {
  return { p50: r3(percentile(sorted, 50)), p90: r3(percentile(sorted, 90)), p99: r3(percentile(sorted, 99)), max: r3(sorted.at(-1) ?? 0) };
}

/** Empties WEBHOOKS (the ingest suite's backlog), so e2e measures a caught-up pipeline. */
async function purgeBacklog(natsUrl: string): Promise<void> {
  const nc = await connect({ servers: natsUrl, name: "hookline-bench-purge" });
  try {
    await (await jetstreamManager(nc)).streams.purge(STREAM);
  } finally {
    await nc.close();
  }
}

async function waitVisible(dashboardUrl: string, email: string, from: number): Promise<number | null> {
  const url = `${dashboardUrl}/api/v1/patients?q=${encodeURIComponent(email)}`;
  const headers = { authorization: "Bearer dev-admin-token" };
  while (performance.now() - from < VISIBLE_TIMEOUT_MS) {
    try {
      const res = await fetch(url, { headers });
      if (res.ok) {
        const body = (await res.json()) as { items?: unknown[] };
        if (body.items && body.items.length > 0) return performance.now() - from;
      }
    } catch {}
    await Bun.sleep(POLL_EVERY_MS);
  }
  return null;
}

interface LoopResult {
  sent: number;
  ok: number;
  errors: number;
  shed: number;
  achievedRps: number;
  latency: number[];
  visible: number[];
  samples: number;
}

/** Sends `requests` at `rate`/s from their scheduled times; optionally samples visibility. */
async function openLoop(cluster: Cluster, requests: BenchRequest[], rate: number, seconds: number, sampleEvery: number): Promise<LoopResult> {
  const total = requests.length;
  const latency: number[] = [];
  const visible: number[] = [];
  const pollers: Promise<void>[] = [];
  const inflight: Promise<void>[] = [];
  let ok = 0;
  let errors = 0;
  let shed = 0;
  let outstanding = 0;

  async function send(req: BenchRequest, n: number, scheduled: number) {
    outstanding++;
    try {
      const res = await fetch(`${cluster.ingressUrl}/v1/webhooks/${req.source}`, { method: "POST", headers: req.headers, body: req.body as BodyInit });
      await res.arrayBuffer();
      const at = performance.now();
      if (res.status !== 200) {
        errors++;
        return;
      }
      ok++;
      latency.push(at - scheduled);
      if (sampleEvery > 0 && n % sampleEvery === 0) {
        pollers.push(
          waitVisible(cluster.dashboardUrl, req.email, at).then((ms) => {
            if (ms !== null) visible.push(ms);
          }),
        );
      }
    } catch {
      errors++;
    } finally {
      outstanding--;
    }
  }

  const start = performance.now();
  let sent = 0;
  // Bounded by count (total) and by time (seconds + 1 s of slack for the last sends).
  while (sent + shed < total && performance.now() - start < (seconds + 1) * 1000) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
    while (sent + shed < due) {
      const n = sent + shed;
      const scheduled = start + (n * 1000) / rate;
      if (outstanding >= MAX_OUTSTANDING) shed++;
      else {
        sent++;
        inflight.push(send(requests[n]!, n, scheduled));
      }
    }
    await Bun.sleep(1);
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;
  await Promise.all(pollers);
  latency.sort((a, b) => a - b);
  visible.sort((a, b) => a - b);
  return { sent, ok, errors, shed, achievedRps: Math.round(ok / elapsed), latency, visible, samples: pollers.length };
}

export async function runE2e(cluster: Cluster, rate: number, seconds: number, runTag: string): Promise<E2eResult> {
  const total = Math.min(200_000, Math.max(1, Math.round(rate * seconds)));
  const now = Date.now();

  // Phase 1: the ingress alone at half load (projector stopped): its own latency.
  await cluster.stopProjector();
  const alone = Array.from({ length: Math.ceil(total / 2) }, (_, n) => makeRequest(`${runTag}lat`, n, now));
  progress(`e2e: ingress alone at ${rate} req/s for ${seconds / 2}s (projector stopped)`);
  const a = await openLoop(cluster, alone, rate, seconds / 2, 0);

  // Phase 2: the whole pipeline, the ingest backlog purged, the projector running.
  await purgeBacklog(cluster.natsUrl);
  const projector = await cluster.startProjector();
  const sampleEvery = Math.max(1, Math.floor(total / 300));
  const requests = Array.from({ length: total }, (_, n) => makeRequest(`${runTag}e2e`, n, Date.now()));
  progress(`e2e: pipeline at ${rate} req/s for ${seconds}s, visibility sampled on ${Math.ceil(total / sampleEvery)} requests`);
  const m = meter({ ingress: cluster.ingress.pid, "nats-server": cluster.nats.pid, projector: projector.pid, dashboard: cluster.dashboard.pid });
  const b = await openLoop(cluster, requests, rate, seconds, sampleEvery);
  const resources = m.stop();
  return {
    offeredRps: rate,
    achievedRps: b.achievedRps,
    sent: b.sent,
    ok: b.ok,
    errors: b.errors,
    shed: b.shed,
    ingestLatencyMs: summary(b.latency),
    ingressAlone: { achievedRps: a.achievedRps, errors: a.errors, shed: a.shed, latencyMs: summary(a.latency) },
    visibleLatencyMs: { samples: b.samples, found: b.visible.length, ...summary(b.visible) },
    resources,
  };
}
