// The operators' tools as real processes for the observability tests: Jaeger (built by
// ops/tools jaeger, configured by ops/jaeger/jaeger.yaml) and Prometheus (Debian's, with
// ops/prometheus/prometheus.yml and the rules), each on free ports with its own data.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { parse, stringify } from "yaml";
import { freePort, ROOT, waitFor } from "./harness.ts";

interface Tool {
  proc: Subprocess;
  output(): string;
  stop(): Promise<void>;
}

function spawnTool(command: string[], env: Record<string, string> = {}, cleanup: () => void = () => {}): Tool {
  let output = "";
  const proc = Bun.spawn(command, { env: { PATH: process.env.PATH!, ...env }, stdout: "pipe", stderr: "pipe" });
  for (const stream of [proc.stdout, proc.stderr] as ReadableStream<Uint8Array>[])
    void (async () => {
      const reader = stream.getReader();
      const decoder = new TextDecoder();
      for (let r = await reader.read(); !r.done; r = await reader.read()) output += decoder.decode(r.value);
    })();
  return {
    proc,
    output: () => output,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      cleanup();
    },
  };
}

/** The pinned Jaeger binary's path (built once by ops/tools, then cached). */
function jaegerBinary(): string {
  const p = Bun.spawnSync([join(ROOT, "ops/tools"), "jaeger"], { stdout: "pipe", stderr: "inherit" });
  const path = p.stdout.toString().trim();
  if (p.exitCode !== 0 || !path) throw new Error("ops/tools jaeger failed");
  return path;
}

/**
 * Jaeger's page (ops/tools jaeger-ui), or null when it is neither cached nor buildable here:
 * it is built from a jaeger-ui source (JAEGER_UI_SOURCE), which no package registry serves.
 */
export function jaegerUiAssets(): string | null {
  const p = Bun.spawnSync([join(ROOT, "ops/tools"), "jaeger-ui"], { stdout: "pipe", stderr: "pipe" });
  const path = p.stdout.toString().trim();
  return p.exitCode === 0 && path ? path : null;
}

export interface Jaeger extends Tool {
  /** OTLP/HTTP base URL: the services' OTEL_EXPORTER_OTLP_ENDPOINT. */
  otlpEndpoint: string;
  /** Query API and page. */
  url: string;
}

/** Jaeger on free ports; with `uiAssets` (a jaeger-ui build) it serves that page too. */
export async function startJaeger(uiAssets: string | null = null, binary = jaegerBinary()): Promise<Jaeger> {
  const [otlp, query, grpc] = [await freePort(), await freePort(), await freePort()];
  const tool = spawnTool([binary, "--config", join(ROOT, "ops/jaeger/jaeger.yaml")], {
    JAEGER_OTLP_HTTP: `127.0.0.1:${otlp}`,
    JAEGER_QUERY_HTTP: `127.0.0.1:${query}`,
    JAEGER_QUERY_GRPC: `127.0.0.1:${grpc}`,
    ...(uiAssets ? { JAEGER_UI_ASSETS: uiAssets } : {}),
  });
  const jaeger = { ...tool, otlpEndpoint: `http://127.0.0.1:${otlp}`, url: `http://127.0.0.1:${query}` };
  await waitFor("jaeger's query API", async () => {
    if (tool.proc.exitCode !== null) throw new Error(`jaeger exited: ${tool.output()}`);
    return (await fetch(`${jaeger.url}/api/services`)).ok;
  });
  return jaeger;
}

export interface Prometheus extends Tool {
  url: string;
  /** An instant query's result vector. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
}

/**
 * Prometheus with ops/prometheus/prometheus.yml, its targets replaced by `targets` (job →
 * host:port) and scraping and evaluating every `interval`; the rules are the checked-in ones.
 */
export async function startPrometheus(targets: Record<string, string>, interval = "1s"): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), "hookline-prometheus-"));
  const config = parse(readFileSync(join(ROOT, "ops/prometheus/prometheus.yml"), "utf8"));
  config.global = { scrape_interval: interval, evaluation_interval: interval };
  config.rule_files = [join(ROOT, "ops/prometheus/hookline.rules.yml")];
  for (const job of config.scrape_configs) {
    if (!targets[job.job_name]) throw new Error(`no target given for job ${job.job_name}`);
    job.static_configs = [{ targets: [targets[job.job_name]] }];
  }
  writeFileSync(join(dir, "prometheus.yml"), stringify(config));
  const port = await freePort();
  const tool = spawnTool(
    [
      "prometheus",
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    {},
    () => rmSync(dir, { recursive: true, force: true }),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    "prometheus to be ready",
    async () => {
      if (tool.proc.exitCode !== null) throw new Error(`prometheus exited: ${tool.output()}`);
      return (await fetch(`${url}/-/ready`)).ok;
    },
    30_000,
  );
  return {
    ...tool,
    url,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as { status: string; error?: string; data: { result: [] } };
      if (body.status !== "success") throw new Error(`query ${expr} failed: ${body.error}`);
      return body.data.result;
    },
  };
}
