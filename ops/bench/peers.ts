// The peers: the same webhooks received by the two designs teams usually start with
// (ops/bench/peers/*.js, Node + Express). Installed lazily with `npm ci` from the
// committed lockfile; they write to schema `bench` of the bench database and BullMQ uses
// Redis DB 5 with its own key prefix.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { psql } from "./db.ts";
import { progress } from "./progress.ts";
import { freePort, run, spawnManaged, waitHttp, type Managed } from "./procs.ts";

export const PEERS_DIR = join(import.meta.dir, "peers");
export const PEER_REDIS_URL = "redis://127.0.0.1:6379/5";
export type PeerName = "direct" | "bull";

export async function ensurePeersInstalled(): Promise<void> {
  const marker = join(PEERS_DIR, "node_modules/.package-lock.json");
  const lock = join(PEERS_DIR, "package-lock.json");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  progress("installing peers (npm ci in ops/bench/peers)");
  await run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: PEERS_DIR, timeoutMs: 300_000 });
}

export interface Peer {
  name: PeerName;
  url: string;
  server: Managed;
  /** The Bull peer's worker; started after the load to drain (see ingest suite). */
  startWorker?: () => Managed;
}

function peerEnv(databaseUrl: string): Record<string, string> {
  return { DATABASE_URL: databaseUrl, REDIS_URL: PEER_REDIS_URL, BULL_PREFIX: "hlbench", NODE_ENV: "production" };
}

/** Empties the peer's table / queue, so each run starts alike. */
export async function resetPeerState(root: string, databaseUrl: string): Promise<void> {
  await psql(root, databaseUrl, "drop schema if exists bench cascade");
  // DB 5 is the bench's own Redis DB (never the dev cluster's DB 0).
  await run(["redis-cli", "-n", "5", "flushdb"], { cwd: root, timeoutMs: 30_000 });
}

export async function startPeer(name: PeerName, root: string, workDir: string, databaseUrl: string): Promise<Peer> {
  const port = await freePort();
  const env = { ...peerEnv(databaseUrl), PORT: String(port) };
  const server = spawnManaged({ name: `peer-${name}`, cmd: ["node", `${name}.js`], cwd: PEERS_DIR, env, logDir: workDir });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/health/ready`, 30, server);
  const peer: Peer = { name, url, server };
  if (name === "bull") {
    peer.startWorker = () => spawnManaged({ name: "peer-bull-worker", cmd: ["node", "bull-worker.js"], cwd: PEERS_DIR, env, logDir: workDir });
  }
  return peer;
}
