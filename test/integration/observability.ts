// The operators' tools as real processes for the observability tests: Jaeger (built by
// ops/tools jaeger, configured by ops/jaeger/jaeger.yaml) on free ports.
import { join } from "node:path";
import type { Subprocess } from "bun";
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

export interface Jaeger extends Tool {
  /** OTLP/HTTP base URL: the services' OTEL_EXPORTER_OTLP_ENDPOINT. */
  otlpEndpoint: string;
  /** Query API and page. */
  url: string;
}

export async function startJaeger(binary = jaegerBinary()): Promise<Jaeger> {
  const [otlp, query, grpc] = [await freePort(), await freePort(), await freePort()];
  const tool = spawnTool([binary, "--config", join(ROOT, "ops/jaeger/jaeger.yaml")], {
    JAEGER_OTLP_HTTP: `127.0.0.1:${otlp}`,
    JAEGER_QUERY_HTTP: `127.0.0.1:${query}`,
    JAEGER_QUERY_GRPC: `127.0.0.1:${grpc}`,
  });
  const jaeger = { ...tool, otlpEndpoint: `http://127.0.0.1:${otlp}`, url: `http://127.0.0.1:${query}` };
  await waitFor("jaeger's query API", async () => {
    if (tool.proc.exitCode !== null) throw new Error(`jaeger exited: ${tool.output()}`);
    return (await fetch(`${jaeger.url}/api/services`)).ok;
  });
  return jaeger;
}
