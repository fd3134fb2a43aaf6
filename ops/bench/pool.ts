// Writes a pool of signed requests for wrk: one file per wrk thread, each thread's slice
// disjoint, so every request in a run is a distinct webhook (until the pool wraps).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BenchRequest, makeRequest, rawHttp } from "./payloads.ts";

export interface Pool {
  dir: string;
  size: number;
  /** The same requests in memory, for the JetStream ceiling and the e2e suite. */
  requests: BenchRequest[];
}

const encoder = new TextEncoder();

export function writePool(dir: string, tag: string, size: number, threads: number): Pool {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const now = Date.now();
  const requests: BenchRequest[] = new Array(size);
  const chunks: Uint8Array[][] = Array.from({ length: threads }, () => []);
  for (let n = 0; n < size; n++) {
    const req = makeRequest(tag, n, now);
    requests[n] = req;
    const raw = rawHttp(req);
    const list = chunks[n % threads]!;
    list.push(encoder.encode(`${raw.byteLength}\n`), raw);
  }
  for (const [t, list] of chunks.entries()) writeFileSync(join(dir, `pool-${t}.bin`), Buffer.concat(list));
  return { dir, size, requests };
}

export function removePool(pool: Pool): void {
  rmSync(pool.dir, { recursive: true, force: true });
}
