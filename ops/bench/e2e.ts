// Suite "e2e": a paced load (5,000 webhooks/s by default, --e2e-rate), from wrk (the Bun client could
// not offer it on 2 cores next to everything else). Two phases:
//   1. the ingress alone (projector stopped): its latency at that load, from wrk;
//   2. the whole pipeline (projector running): the same load, plus a light probe that
//      sends signed webhooks at PROBE_RPS and times each from its 200 until the patient
//      is visible through the dashboard API (polls of all probes paced to POLLS_PER_S).
// wrk's pacing is a pause per connection, so the offered rate is approximate: the
// achieved rate is what is reported.
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { DEV_CREDENTIALS } from "../../shared/dev-credentials.ts";
import { PROJECTOR_CONSUMER, STREAM } from "../../shared/nats.ts";
import type { Cluster } from "./cluster.ts";
import { type BenchRequest, makeRequest } from "./payloads.ts";
import { removePool, writePool } from "./pool.ts";
import { progress } from "./progress.ts";
import { meter, type ResourceUsage } from "./resources.ts";
import { percentile } from "./stats.ts";
import { type LoadResult, runWrk, WRK_THREADS } from "./wrk.ts";

type Summary = { p50: number; p90: number; p99: number; max: number };

export interface E2eResult {
  offeredRps: number;
  /** Phase 1: the ingress alone at half load (projector stopped), measured by wrk. */
  ingressAlone: { achievedRps: number; errors: number; latencyMs: Summary };
  /** Phase 2: the same load with the projector running. */
  pipeline: {
    achievedRps: number;
    errors: number;
    latencyMs: Summary;
    backlogAtEnd: number;
    /** Largest backlog sampled (every 500 ms) during the load. */
    backlogMax?: number;
    /** Least-squares slope of the sampled backlog over the load, events/s: near 0 = flat (the projector keeps up). */
    backlogGrowthPerS?: number;
  };
  /**
   * Phase 2 probe: from the 200 to the patient found through the API; `polls`: the searches it
   * made, `probeRps` and `pollsPerS` its settings (absent from results of older versions).
   */
  visibleLatencyMs: Summary & { samples: number; found: number; polls?: number; probeRps?: number; pollsPerS?: number };
  resources: Record<string, ResourceUsage>;
}

const CONNECTIONS = 128;
const PROBE_RPS = 20;
/**
 * A probe polls every 5 ms at first, then every tenth of the time it has waited (so a time is
 * found at most 10% late), and each poll waits for its slot of POLLS_PER_S: when the probes
 * would poll more often than that in all (the pipeline lagging seconds behind), a time also
 * includes that wait.
 */
const POLL_EVERY_MS = 5;
const POLL_BACKOFF = 0.1;
/**
 * The polls of all probes together, at most this many a second. Every outstanding probe polling
 * every 5 ms on its own made the probe a load of its own once the pipeline lagged: 50 probes a
 * second, each waiting ~11 s, were ~550 pollers and thousands of searches a second, and the
 * dashboard answering them used about as much CPU as the projector it was timing.
 */
const POLLS_PER_S = 250;
const VISIBLE_TIMEOUT_MS = 30_000;
const WARM_UP_TIMEOUT_MS = 60_000;
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const summary = (sorted: number[]): Summary => ({
  p50: r3(percentile(sorted, 50)),
  p90: r3(percentile(sorted, 90)),
  p99: r3(percentile(sorted, 99)),
  max: r3(sorted.at(-1) ?? 0),
});
const fromWrk = (r: LoadResult) => ({
  achievedRps: r.rps,
  errors: r.errors,
  latencyMs: { p50: r.latencyMs.p50, p90: r.latencyMs.p90, p99: r.latencyMs.p99, max: r.latencyMs.max },
});

async function withJsm<T>(
  natsUrl: string,
  fn: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>,
): Promise<T> {
  const nc = await connect({ servers: natsUrl, name: "hookline-bench-e2e" });
  try {
    return await fn(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

/** Spaces the calls of everyone awaiting it 1000/perSecond ms apart, each in the next free slot. */
function pacer(perSecond: number): () => Promise<void> {
  let next = 0;
  return async () => {
    const now = performance.now();
    const slot = Math.max(now, next);
    next = slot + 1000 / perSecond;
    if (slot > now) await Bun.sleep(slot - now);
  };
}

async function waitVisible(
  dashboardUrl: string,
  email: string,
  from: number,
  pace: () => Promise<void>,
  counted: () => void,
): Promise<number | null> {
  const url = `${dashboardUrl}/api/v1/patients?q=${encodeURIComponent(email)}`;
  // The cluster runs with HOOKLINE_ENV=development (cluster.ts): the dev admin token is live.
  const headers = { authorization: `Bearer ${DEV_CREDENTIALS.dashboardAdminToken}` };
  while (performance.now() - from < VISIBLE_TIMEOUT_MS) {
    await pace();
    counted();
    try {
      const res = await fetch(url, { headers });
      if (res.ok && ((await res.json()) as { items?: unknown[] }).items?.length) return performance.now() - from;
    } catch {}
    await Bun.sleep(Math.max(POLL_EVERY_MS, (performance.now() - from) * POLL_BACKOFF));
  }
  return null;
}

/** Sends one probe webhook every 1000/PROBE_RPS ms until `stopAt`; bounded by time. */
async function probe(
  cluster: Cluster,
  runTag: string,
  stopAt: number,
): Promise<{ visible: number[]; samples: number; polls: number }> {
  const visible: number[] = [];
  const pollers: Promise<void>[] = [];
  const pace = pacer(POLLS_PER_S);
  let polls = 0;
  let n = 0;
  while (performance.now() < stopAt) {
    const req: BenchRequest = makeRequest(`${runTag}probe`, n++, Date.now());
    pollers.push(
      (async () => {
        const res = await fetch(`${cluster.ingressUrl}/v1/webhooks/${req.source}`, {
          method: "POST",
          headers: req.headers,
          body: req.body as BodyInit,
        });
        await res.arrayBuffer();
        if (res.status !== 200) return;
        const ms = await waitVisible(cluster.dashboardUrl, req.email, performance.now(), pace, () => polls++);
        if (ms !== null) visible.push(ms);
      })().catch(() => {}),
    );
    await Bun.sleep(1000 / PROBE_RPS);
  }
  await Promise.all(pollers);
  return { visible: visible.sort((a, b) => a - b), samples: n, polls };
}

/** The projector consumer's backlog: pending and unacknowledged. */
async function consumerBacklog(jsm: Awaited<ReturnType<typeof jetstreamManager>>): Promise<number> {
  const info = await jsm.consumers.info(STREAM, PROJECTOR_CONSUMER);
  return info.num_pending + info.num_ack_pending;
}

/** The consumer's backlog (consumerBacklog) every 500 ms until `stopAt`. */
async function sampleBacklog(natsUrl: string, stopAt: number): Promise<{ s: number; backlog: number }[]> {
  const started = performance.now();
  return withJsm(natsUrl, async (jsm) => {
    const out: { s: number; backlog: number }[] = [];
    while (performance.now() < stopAt) {
      const backlog = await consumerBacklog(jsm);
      out.push({ s: (performance.now() - started) / 1000, backlog });
      await Bun.sleep(500);
    }
    return out;
  });
}

/** Waits until the projector has drained the stream (at most `timeoutMs`), then purges what is left: how many. */
async function drainBacklog(natsUrl: string, timeoutMs: number): Promise<number> {
  return withJsm(natsUrl, async (jsm) => {
    const deadline = performance.now() + timeoutMs;
    let left = await consumerBacklog(jsm);
    while (left > 0 && performance.now() < deadline) {
      await Bun.sleep(250);
      left = await consumerBacklog(jsm);
    }
    if (left > 0) await jsm.streams.purge(STREAM);
    return left;
  });
}

/** Least-squares slope of backlog over time (events/s); 0 with fewer than two samples. */
function slope(samples: { s: number; backlog: number }[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((a, p) => a + p.s, 0) / n;
  const my = samples.reduce((a, p) => a + p.backlog, 0) / n;
  const sxx = samples.reduce((a, p) => a + (p.s - mx) ** 2, 0);
  return sxx > 0 ? samples.reduce((a, p) => a + (p.s - mx) * (p.backlog - my), 0) / sxx : 0;
}

export async function runE2e(cluster: Cluster, rate: number, seconds: number, runTag: string): Promise<E2eResult> {
  // Each connection's cycle is pause + latency; ~1 ms of latency is taken off the pause.
  const pauseMs = Math.max(1, Math.round((CONNECTIONS * 1000) / rate) - 1);
  const poolSize = Math.min(400_000, Math.ceil(rate * seconds * 1.5));

  await cluster.stopProjector();
  const alonePool = writePool(
    join(cluster.workDir, "pool-e2e-alone"),
    `${runTag}alone`,
    Math.ceil(poolSize / 2),
    WRK_THREADS,
  );
  progress(`e2e: ingress alone, ~${rate} req/s offered for ${Math.ceil(seconds / 2)}s (projector stopped)`);
  const alone = await runWrk({
    url: `${cluster.ingressUrl}/`,
    pool: alonePool,
    connections: CONNECTIONS,
    seconds: Math.ceil(seconds / 2),
    cwd: cluster.root,
    pauseMs,
  });
  removePool(alonePool);

  // A caught-up pipeline and a projector past its first seconds: it starts and drains phase 1's
  // backlog before the load (a cold process spends its first seconds compiling: about 20 µs of
  // JIT an event over a 100,000-event drain, 5 over 300,000, so this warms it only in part),
  // and what it has not drained in time is purged.
  const backlog = await withJsm(cluster.natsUrl, consumerBacklog);
  const projector = await cluster.startProjector();
  const purged = await drainBacklog(cluster.natsUrl, WARM_UP_TIMEOUT_MS);
  progress(`e2e: projector warmed up on phase 1's backlog (${backlog - purged} of ${backlog} events; the rest purged)`);
  const pool = writePool(join(cluster.workDir, "pool-e2e"), `${runTag}e2e`, poolSize, WRK_THREADS);
  progress(`e2e: pipeline, ~${rate} req/s offered for ${seconds}s, probe at ${PROBE_RPS}/s timing 200 → visible`);
  const m = meter({
    ingress: cluster.ingress.pid,
    "nats-server": cluster.nats.pid,
    projector: projector.pid,
    dashboard: cluster.dashboard.pid,
  });
  const probing = probe(cluster, runTag, performance.now() + seconds * 1000);
  const sampling = sampleBacklog(cluster.natsUrl, performance.now() + seconds * 1000);
  const load = await runWrk({
    url: `${cluster.ingressUrl}/`,
    pool,
    connections: CONNECTIONS,
    seconds,
    cwd: cluster.root,
    pauseMs,
  });
  // Metered over the load only: the probes still waiting after it are not the load's cost.
  const resources = m.stop();
  const backlogAtEnd = await withJsm(cluster.natsUrl, consumerBacklog);
  const samples = await sampling;
  const probed = await probing;
  removePool(pool);
  return {
    offeredRps: rate,
    ingressAlone: fromWrk(alone),
    pipeline: {
      ...fromWrk(load),
      backlogAtEnd,
      backlogMax: Math.max(0, ...samples.map((x) => x.backlog)),
      backlogGrowthPerS: Math.round(slope(samples)),
    },
    visibleLatencyMs: {
      samples: probed.samples,
      found: probed.visible.length,
      polls: probed.polls,
      probeRps: PROBE_RPS,
      pollsPerS: POLLS_PER_S,
      ...summary(probed.visible),
    },
    resources,
  };
}
