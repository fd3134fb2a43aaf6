// The peers: the same webhooks received by the two designs teams usually start with
// (ops/bench/peers/*.js, Node + Express). Installed lazily with `npm ci` from the
// committed lockfile; they write to schema `bench` of the run's database and BullMQ uses
// Redis DB 5 with a per-run key prefix.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { freePort, type Managed, run, spawnManaged, waitHttp } from "./procs.ts";
import { progress } from "./progress.ts";

const PEERS_DIR = join(import.meta.dir, "peers");
const PEER_REDIS_URL = "redis://127.0.0.1:6379/5";
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
  /** The Bull peer's Redis key prefix. */
  prefix?: string;
  /** The Bull peer's worker; started after the load to drain (see ingest suite). */
  startWorker?: () => Managed;
}

const bullPrefix = (tag: string) => `hlbench-${tag}`;

function peerEnv(databaseUrl: string, tag: string): Record<string, string> {
  return { DATABASE_URL: databaseUrl, REDIS_URL: PEER_REDIS_URL, BULL_PREFIX: bullPrefix(tag), NODE_ENV: "production" };
}

/** Deletes this run's BullMQ keys (Redis DB 5, prefix hlbench-<run>); other runs' keys stay. */
export async function dropPeerQueue(root: string, tag: string): Promise<void> {
  const script = `redis-cli -n 5 --scan --pattern '${bullPrefix(tag)}:*' | xargs -r -n 500 redis-cli -n 5 del >/dev/null`;
  await run(["bash", "-c", script], { cwd: root, timeoutMs: 60_000 });
}

/** Jobs waiting or active in the Bull peer's queue (BullMQ keeps both as Redis lists). */
export async function queuedJobs(root: string, prefix: string): Promise<number> {
  const lua = "return redis.call('llen', KEYS[1]) + redis.call('llen', KEYS[2])";
  const out = await run(
    ["redis-cli", "-n", "5", "eval", lua, "2", `${prefix}:webhooks:wait`, `${prefix}:webhooks:active`],
    { cwd: root, timeoutMs: 10_000 },
  );
  return Number(out.trim()) || 0;
}

export async function startPeer(
  name: PeerName,
  _root: string,
  workDir: string,
  databaseUrl: string,
  tag: string,
): Promise<Peer> {
  const port = await freePort();
  const env = { ...peerEnv(databaseUrl, tag), PORT: String(port) };
  const server = spawnManaged({
    name: `peer-${name}`,
    cmd: ["node", `${name}.js`],
    cwd: PEERS_DIR,
    env,
    logDir: workDir,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/health/ready`, 30, server);
  const peer: Peer = { name, url, server };
  if (name === "bull") {
    peer.prefix = bullPrefix(tag);
    peer.startWorker = () =>
      spawnManaged({ name: "peer-bull-worker", cmd: ["node", "bull-worker.js"], cwd: PEERS_DIR, env, logDir: workDir });
  }
  return peer;
}
