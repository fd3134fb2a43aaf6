// Suite "ingest": wrk at fixed connection counts against the ingress, the JetStream
// ceiling and the two peers, all from the same pool of signed requests, in the same run.
// Consumers (projector, Bull worker) are stopped during the load: this measures the
// acknowledge path only — the 200 means stored — and the drain is measured apart.

import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { createCeilingStream, deleteCeilingStream, runCeiling } from "./ceiling.ts";
import type { Cluster } from "./cluster.ts";
import { dropPeerQueue, ensurePeersInstalled, type Peer, queuedJobs, startPeer } from "./peers.ts";
import { type Pool, removePool, writePool } from "./pool.ts";
import { freePort, spawnManaged, waitHttp } from "./procs.ts";
import { progress, warnLine } from "./progress.ts";
import { meter, type ResourceUsage } from "./resources.ts";
import { median, ratio } from "./stats.ts";
import { type LoadResult, runWrk, WRK_THREADS } from "./wrk.ts";

export interface IngestOptions {
  concurrencies: number[];
  seconds: number;
  repeats: number;
  peers: boolean;
  /** Upper bound of the pool (signed requests) per concurrency and repeat. */
  maxPool: number;
}

export type Target = "hookline" | "ceiling" | "floor" | "direct" | "bull";

interface IngestPoint {
  connections: number;
  results: Partial<Record<Target, LoadResult>>;
  ratios: {
    hooklineVsCeilingRps: number | null;
    /** hookline / the bare-HTTP floor (Bun reading the body and answering, nothing else). */
    hooklineVsFloorRps: number | null;
    /** 1 / (1/floor + 1/ceiling): one process doing both the HTTP and the publish. */
    boundRps: number | null;
    hooklineVsBoundRps: number | null;
    hooklineVsDirectRps: number | null;
    hooklineVsBullRps: number | null;
    /** hookline p99 / peer p99: below 1 means hookline's tail is shorter. */
    hooklineVsDirectP99: number | null;
    hooklineVsBullP99: number | null;
  };
}

export interface IngestResult {
  points: IngestPoint[];
  /** Best durable requests/s of hookline over all connection counts. */
  maxRps: number;
  resources: Partial<Record<Target, Record<string, ResourceUsage>>>;
  bullDrain: { jobs: number; seconds: number; rate: number; complete: boolean } | null;
}

function medianResult(runs: LoadResult[]): LoadResult {
  if (runs.length === 1) return runs[0]!;
  const m = (f: (r: LoadResult) => number) => median(runs.map(f));
  return {
    connections: runs[0]!.connections,
    durationS: m((r) => r.durationS),
    requests: m((r) => r.requests),
    ok: m((r) => r.ok),
    errors: m((r) => r.errors),
    rps: Math.round(m((r) => r.rps)),
    latencyMs: {
      p50: m((r) => r.latencyMs.p50),
      p90: m((r) => r.latencyMs.p90),
      p99: m((r) => r.latencyMs.p99),
      max: m((r) => r.latencyMs.max),
      mean: m((r) => r.latencyMs.mean),
    },
    wrapped: runs.some((r) => r.wrapped),
  };
}

function addUsage(into: Record<string, ResourceUsage>, add: Record<string, ResourceUsage>): void {
  for (const [k, u] of Object.entries(add)) {
    const cur = into[k] ?? { cpuSeconds: 0, peakRssMb: 0 };
    into[k] = {
      cpuSeconds: Math.round((cur.cpuSeconds + u.cpuSeconds) * 100) / 100,
      peakRssMb: Math.max(cur.peakRssMb, u.peakRssMb),
    };
  }
}

export async function runIngest(cluster: Cluster, opts: IngestOptions, runTag: string): Promise<IngestResult> {
  const nc = await connect({ servers: cluster.natsUrl, name: "hookline-bench-ceiling" });
  await createCeilingStream(nc);
  const peers: Peer[] = [];
  if (opts.peers) {
    await ensurePeersInstalled();
    peers.push(await startPeer("direct", cluster.root, cluster.workDir, cluster.databaseUrl, cluster.tag));
    peers.push(await startPeer("bull", cluster.root, cluster.workDir, cluster.databaseUrl, cluster.tag));
  }
  const floorPort = await freePort();
  const floor = spawnManaged({
    name: "http-floor",
    cmd: ["bun", join(import.meta.dir, "http-floor.ts")],
    cwd: cluster.root,
    env: { PORT: String(floorPort) },
    logDir: cluster.workDir,
  });
  await waitHttp(`http://127.0.0.1:${floorPort}/`, 30, floor);
  const urls: Partial<Record<Target, string>> = {
    hookline: `${cluster.ingressUrl}/`,
    floor: `http://127.0.0.1:${floorPort}/`,
  };
  for (const p of peers) urls[p.name] = `${p.url}/`;
  const pids: Partial<Record<Target, Record<string, number>>> = {
    hookline: { ingress: cluster.ingress.pid, "nats-server": cluster.nats.pid },
    ceiling: { "bench (publisher)": process.pid, "nats-server": cluster.nats.pid },
    floor: { "http-floor": floor.pid },
  };
  for (const p of peers) pids[p.name] = { [`peer-${p.name}`]: p.server.pid };
  const resources: IngestResult["resources"] = {};

  try {
    // JIT and connection warm-up for every HTTP target, outside the measurement.
    const warm = writePool(join(cluster.workDir, "pool-warm"), `${runTag}w`, 4000, WRK_THREADS);
    for (const url of Object.values(urls)) {
      await runWrk({ url: url!, pool: warm, connections: 16, seconds: 1, cwd: cluster.root });
    }
    removePool(warm);

    // Pool size follows the fastest rate seen so far, so requests stay unique.
    let expectedRps = 15_000;
    const points: IngestPoint[] = [];
    for (const c of opts.concurrencies) {
      const runs: Partial<Record<Target, LoadResult[]>> = {};
      for (let rep = 0; rep < opts.repeats; rep++) {
        const size = Math.min(opts.maxPool, Math.max(2000, Math.ceil(expectedRps * opts.seconds * 1.4)));
        const pool: Pool = writePool(join(cluster.workDir, "pool"), `${runTag}c${c}r${rep}`, size, WRK_THREADS);
        for (const target of ["hookline", "ceiling", "floor", "direct", "bull"] as Target[]) {
          if (target !== "ceiling" && !urls[target]) continue;
          const m = meter(pids[target]!);
          const r =
            target === "ceiling"
              ? await runCeiling(nc, pool.requests, c, opts.seconds)
              : await runWrk({ url: urls[target]!, pool, connections: c, seconds: opts.seconds, cwd: cluster.root });
          resources[target] ??= {};
          addUsage(resources[target], m.stop());
          runs[target] ??= [];
          runs[target].push(r);
          // The floor dedups nothing, so a wrapped pool changes nothing there.
          if (r.wrapped && target !== "floor")
            warnLine(`${target} c=${c}: pool of ${size} ran out; later requests were duplicates`);
          if (r.errors > 0) warnLine(`${target} c=${c}: ${r.errors} errors (non-2xx or socket)`);
          progress(
            `ingest c=${c} ${target.padEnd(8)} ${String(r.rps).padStart(6)} req/s  p50 ${r.latencyMs.p50} ms  p99 ${r.latencyMs.p99} ms${opts.repeats > 1 ? `  (repeat ${rep + 1}/${opts.repeats})` : ""}`,
          );
          if (target !== "floor") expectedRps = Math.max(expectedRps, r.rps);
        }
        removePool(pool);
      }
      const results = Object.fromEntries(
        Object.entries(runs).map(([t, list]) => [t, medianResult(list!)]),
      ) as IngestPoint["results"];
      const h = results.hookline!;
      const f = results.floor?.rps ?? 0;
      const ceil = results.ceiling?.rps ?? 0;
      const bound = f > 0 && ceil > 0 ? Math.round(1 / (1 / f + 1 / ceil)) : null;
      points.push({
        connections: c,
        results,
        ratios: {
          hooklineVsCeilingRps: ratio(h.rps, ceil),
          hooklineVsFloorRps: ratio(h.rps, f),
          boundRps: bound,
          hooklineVsBoundRps: ratio(h.rps, bound ?? 0),
          hooklineVsDirectRps: ratio(h.rps, results.direct?.rps ?? 0),
          hooklineVsBullRps: ratio(h.rps, results.bull?.rps ?? 0),
          hooklineVsDirectP99: ratio(h.latencyMs.p99, results.direct?.latencyMs.p99 ?? 0),
          hooklineVsBullP99: ratio(h.latencyMs.p99, results.bull?.latencyMs.p99 ?? 0),
        },
      });
    }

    const bullDrain = opts.peers ? await drainBull(cluster, peers.find((p) => p.name === "bull")!) : null;
    return { points, maxRps: Math.max(...points.map((p) => p.results.hookline?.rps ?? 0)), resources, bullDrain };
  } finally {
    await floor.stop();
    for (const p of peers) await p.server.stop();
    if (opts.peers) await dropPeerQueue(cluster.root, cluster.tag).catch(() => {});
    await deleteCeilingStream(nc).catch(() => {});
    await nc.close();
  }
}

/** Starts the Bull worker over the jobs the load left queued; bounded to 60 s. */
async function drainBull(cluster: Cluster, bull: Peer): Promise<IngestResult["bullDrain"]> {
  const jobs = await queuedJobs(cluster.root, bull.prefix!);
  progress(`bull worker draining ${jobs} jobs (≤ 60 s)`);
  const worker = bull.startWorker!();
  const started = performance.now();
  let left = jobs;
  try {
    while (performance.now() - started < 60_000) {
      left = await queuedJobs(cluster.root, bull.prefix!);
      if (left === 0) break;
      await Bun.sleep(250);
    }
  } finally {
    await worker.stop();
  }
  const done = jobs - left;
  const seconds = (performance.now() - started) / 1000;
  return { jobs, seconds: Math.round(seconds * 10) / 10, rate: Math.round(done / seconds), complete: left === 0 };
}
