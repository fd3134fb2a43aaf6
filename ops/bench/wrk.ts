// Runs wrk with pool.lua against one URL at a fixed number of connections and returns
// what pool.lua's done() reports: durable (non-error) requests/s and the latency tail.
import { join } from "node:path";
import type { Pool } from "./pool.ts";

export interface LoadResult {
  connections: number;
  durationS: number;
  requests: number;
  /** Responses with status < 400 (wrk counts ≥ 400 as status errors): 2xx here. */
  ok: number;
  errors: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** True if the pool ran out and requests repeated (then duplicates were measured). */
  wrapped: boolean;
}

interface WrkJson {
  requests: number;
  durationUs: number;
  statusErrors: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  timeouts: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  wraps: number;
}

export const WRK_THREADS = 2;

export async function runWrk(opts: {
  url: string;
  pool: Pool;
  connections: number;
  seconds: number;
  cwd: string;
  pauseMs?: number;
}): Promise<LoadResult> {
  const threads = Math.min(WRK_THREADS, opts.connections);
  const cmd = [
    "wrk",
    `-t${threads}`,
    `-c${opts.connections}`,
    `-d${opts.seconds}s`,
    "--timeout",
    "10s",
    "-s",
    join(import.meta.dir, "pool.lua"),
    opts.url,
    "--",
    opts.pool.dir,
    String(opts.pauseMs ?? 0),
  ];
  const proc = Bun.spawn(cmd, { cwd: opts.cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  // Bounded: wrk stops itself after -d; the kill is for a hung wrk only.
  const timer = setTimeout(() => proc.kill("SIGKILL"), (opts.seconds + 60) * 1000);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (code !== 0 || !line) throw new Error(`wrk failed (${code}): ${err.trim() || out.trim()}`.slice(0, 2000));
  const j = JSON.parse(line.slice("BENCH_JSON ".length)) as WrkJson;
  const durationS = j.durationUs / 1e6;
  const errors = j.statusErrors + j.connectErrors + j.readErrors + j.writeErrors + j.timeouts;
  const ok = j.requests - j.statusErrors;
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    connections: opts.connections,
    durationS,
    requests: j.requests,
    ok,
    errors,
    rps: Math.round(ok / durationS),
    latencyMs: { p50: ms(j.p50), p90: ms(j.p90), p99: ms(j.p99), max: ms(j.max), mean: ms(j.mean) },
    wrapped: j.wraps > 0,
  };
}
