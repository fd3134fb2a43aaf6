// Ingest with encryption at rest on and off, in the same run (issue #10: at most 10% slower).
// What the ingress path encrypts is JetStream's store (nats-server's own cipher): "on" is the
// cluster's nats-server as ./ops/up runs it, "off" a second nats-server with its store in clear
// (startNats(..., false): the bench only; ./ops/up, the chart and the tests always encrypt).
// Each side gets its own ingress, and the two are measured in turn, on, off, off, on (A B B A,
// as the projector suite does: a drift of the shared cores over the runs falls on both sides
// alike instead of passing for a cost), against fresh pools at one concurrency.
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { STREAM } from "../../shared/nats.ts";
import { type Cluster, serviceEnv, startNats, startService } from "./cluster.ts";
import { provision } from "./db.ts";
import { removePool, writePool } from "./pool.ts";
import { progress, warnLine } from "./progress.ts";
import { mean, ratio } from "./stats.ts";
import { runWrk, WRK_THREADS } from "./wrk.ts";

export interface EncryptionIngestResult {
  connections: number;
  /** Durable requests/s of each run, in the order measured. */
  on: number[];
  off: number[];
  /** The sides in the order they were measured (absent from results of older versions). */
  order?: ("on" | "off")[];
  /** Mean of "on" / mean of "off" (1.00 = free; goal >= 0.90). */
  onVsOff: number | null;
}

export async function runIngestEncryption(
  cluster: Cluster,
  opts: { connections: number; seconds: number; maxPool: number; rounds: number },
  runTag: string,
): Promise<EncryptionIngestResult> {
  const dir = join(cluster.workDir, "encryption-off");
  // Both stores start empty: the earlier load's messages would make the "on" side's stream the bigger one.
  const nc = await connect({ servers: cluster.natsUrl, name: "hookline-bench-encryption" });
  await (await jetstreamManager(nc)).streams.purge(STREAM);
  await nc.close();
  const clear = await startNats(dir, "nats-clear", false);
  // Streams provisioned in the clear nats-server (the database is the cluster's: migrations are a no-op).
  await provision(cluster.root, clear.url, cluster.databaseUrl);
  const env = serviceEnv(clear.url, cluster.databaseUrl, cluster.root);
  const offIngress = await startService(cluster.root, dir, "ingress", "ingress-clear-store", env);
  const urls = { on: `${cluster.ingressUrl}/`, off: `${offIngress.url}/` };
  const result: EncryptionIngestResult = { connections: opts.connections, on: [], off: [], order: [], onVsOff: null };
  let expectedRps = 15_000;
  try {
    for (let round = 0; round < opts.rounds; round++) {
      for (const side of round % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const)) {
        const size = Math.min(opts.maxPool, Math.max(2000, Math.ceil(expectedRps * (opts.seconds + 1) * 1.4)));
        const pool = writePool(join(dir, "pool"), `${runTag}e${side}${round}`, size, WRK_THREADS);
        try {
          await runWrk({ url: urls[side], pool, connections: 16, seconds: 1, cwd: cluster.root });
          const r = await runWrk({
            url: urls[side],
            pool,
            connections: opts.connections,
            seconds: opts.seconds,
            cwd: cluster.root,
          });
          if (r.errors > 0) warnLine(`encryption ${side} c=${opts.connections}: ${r.errors} errors`);
          if (r.wrapped) warnLine(`encryption ${side}: pool ran out; later requests were duplicates`);
          result[side].push(r.rps);
          result.order!.push(side);
          expectedRps = Math.max(expectedRps, r.rps);
          progress(`ingest, encryption ${side.padEnd(3)} c=${opts.connections} ${String(r.rps).padStart(6)} req/s`);
        } finally {
          removePool(pool);
        }
      }
    }
  } finally {
    await offIngress.proc.stop();
    await clear.nats.stop();
  }
  result.onVsOff = ratio(mean(result.on), mean(result.off));
  return result;
}
