// Ingest with tracing off and sampled at given ratios, in the same run (--tracing off,0.1,1):
// for each setting a fresh ingress exports its spans over OTLP/HTTP protobuf to a real Jaeger
// (ops/tools jaeger, in memory) and wrk measures it as the ingest suite does. Settings are
// measured in turn at each concurrency, each against a fresh pool (every request a new event).
// Jaeger shares the machine's cores with the ingress: at 100% its work is part of the cost.
import { join } from "node:path";
import { type Cluster, serviceEnv, startService } from "./cluster.ts";
import { type Pool, removePool, writePool } from "./pool.ts";
import { freePort, spawnManaged, waitHttp } from "./procs.ts";
import { progress, warnLine } from "./progress.ts";
import { type LoadResult, runWrk, WRK_THREADS } from "./wrk.ts";

/** "off", or the share of new traces sampled (parentbased_traceidratio). */
export type TracingSetting = "off" | number;

interface TracingPoint {
  connections: number;
  setting: TracingSetting;
  result: LoadResult;
  /** Requests/s against tracing off at the same concurrency (the mean of its runs; 1 = no cost). */
  vsOffRps: number | null;
}

export interface TracingResult {
  points: TracingPoint[];
  /** Services Jaeger received spans from (a check that the sampled runs exported). */
  jaegerServices: string[];
}

/** Parses "off,0.1,1". */
export function parseTracingSettings(list: string): TracingSetting[] {
  return list.split(",").map((s) => {
    if (s === "off") return "off";
    const r = Number(s);
    if (!(r >= 0 && r <= 1) || s.trim() === "")
      throw new Error(`--tracing takes off or ratios from 0 to 1, not "${s}"`);
    return r;
  });
}

const label = (s: TracingSetting) => (s === "off" ? "off" : `${s * 100}%`);

function tracingEnv(setting: TracingSetting, otlp: string): Record<string, string> {
  if (setting === "off") return { OTEL_SDK_DISABLED: "true" };
  return {
    OTEL_SDK_DISABLED: "false",
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: String(setting),
  };
}

function jaegerBinary(root: string): string {
  const p = Bun.spawnSync([join(root, "ops/tools"), "jaeger"], { stdout: "pipe", stderr: "inherit" });
  const path = p.stdout.toString().trim();
  if (p.exitCode !== 0 || !path) throw new Error("ops/tools jaeger failed");
  return path;
}

export async function runTracing(
  cluster: Cluster,
  settings: TracingSetting[],
  opts: { concurrencies: number[]; seconds: number; maxPool: number },
  runTag: string,
): Promise<TracingResult> {
  const [otlpPort, queryPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  const jaeger = spawnManaged({
    name: "jaeger",
    cmd: [jaegerBinary(cluster.root), "--config", join(cluster.root, "ops/jaeger/jaeger.yaml")],
    cwd: cluster.root,
    env: {
      JAEGER_OTLP_HTTP: `127.0.0.1:${otlpPort}`,
      JAEGER_QUERY_HTTP: `127.0.0.1:${queryPort}`,
      JAEGER_QUERY_GRPC: `127.0.0.1:${grpcPort}`,
    },
    logDir: cluster.workDir,
  });
  const queryUrl = `http://127.0.0.1:${queryPort}`;
  try {
    await waitHttp(`${queryUrl}/api/services`, 30, jaeger);
    const env = serviceEnv(cluster.natsUrl, cluster.databaseUrl, cluster.root);
    const points: TracingPoint[] = [];
    let expectedRps = 15_000;
    for (const c of opts.concurrencies) {
      // "off" may be given more than once (before and after, to see the drift): their mean is the reference.
      const off: number[] = [];
      for (const setting of settings) {
        const ingress = await startService(
          cluster.root,
          cluster.workDir,
          "ingress",
          `ingress-tracing-${label(setting)}`,
          {
            ...env,
            ...tracingEnv(setting, `http://127.0.0.1:${otlpPort}`),
          },
        );
        try {
          const url = `${ingress.url}/`;
          const size = Math.min(opts.maxPool, Math.max(2000, Math.ceil(expectedRps * (opts.seconds + 1) * 1.4)));
          const pool: Pool = writePool(
            join(cluster.workDir, "pool-tracing"),
            `${runTag}t${c}${label(setting)}`,
            size,
            WRK_THREADS,
          );
          try {
            // Warm-up (JIT, connections, the exporter's first batches) on the same pool, outside the measurement.
            await runWrk({ url, pool, connections: 16, seconds: 1, cwd: cluster.root });
            const result = await runWrk({ url, pool, connections: c, seconds: opts.seconds, cwd: cluster.root });
            if (result.errors > 0) warnLine(`tracing ${label(setting)} c=${c}: ${result.errors} errors`);
            if (result.wrapped)
              warnLine(`tracing ${label(setting)} c=${c}: pool ran out; later requests were duplicates`);
            if (setting === "off") off.push(result.rps);
            expectedRps = Math.max(expectedRps, result.rps);
            points.push({ connections: c, setting, result, vsOffRps: null });
            progress(
              `tracing ${label(setting).padEnd(4)} c=${c} ${String(result.rps).padStart(6)} req/s  p50 ${result.latencyMs.p50} ms  p99 ${result.latencyMs.p99} ms`,
            );
          } finally {
            removePool(pool);
          }
        } finally {
          await ingress.proc.stop();
        }
      }
      // Three decimals: the question is a few percent.
      const reference = off.length ? off.reduce((a, b) => a + b, 0) / off.length : 0;
      for (const p of points)
        if (p.connections === c) p.vsOffRps = reference ? Math.round((p.result.rps / reference) * 1000) / 1000 : null;
    }
    const services = (await (await fetch(`${queryUrl}/api/services`)).json()) as { data: string[] | null };
    return { points, jaegerServices: services.data ?? [] };
  } finally {
    await jaeger.stop();
  }
}
