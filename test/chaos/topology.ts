// The system under chaos: its own Postgres and Redis on free ports, NATS as one node or a
// 3-node JetStream cluster (streams at 3 replicas), 2 ingress, 3 projector and 1 dashboard
// processes, all on loopback. Every part can be killed and brought back by the faults.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { createDb, type Sql } from "../../shared/db/client.ts";
import { migrate } from "../../shared/db/migrate.ts";
import { PROJECTOR_CONSUMER, provisionJetStream, STREAM } from "../../shared/nats.ts";
import {
  type NatsCluster,
  type NatsNode,
  type PostgresServer,
  type RedisServer,
  type Service,
  startNatsCluster,
  startPostgresServer,
  startRedisServer,
  startService,
} from "../integration/harness.ts";

export interface TopologyOptions {
  natsNodes: 1 | 3;
  ingresses?: number;
  projectors?: number;
  /** Size of the filesystem holding each JetStream store (tmpfs, needs root); 0: plain temp dir. */
  storeFsMiB?: number;
}

export interface Topology {
  natsNodes: number;
  nats: NatsCluster;
  nc: NatsConnection;
  pg: PostgresServer;
  redis: RedisServer;
  sql: Sql;
  ingress: Service[];
  projector: Service[];
  dashboard: Service;
  /** Holds each node's store on its own filesystem (<storeFs>/<node>-store), when made (the disk-full fault fills one). */
  storeFs?: string;
  /** Restarts the service at index `i` (after a kill), same settings. */
  restart(kind: "ingress" | "projector", i: number): Promise<Service>;
  /** The node leading WEBHOOKS now. */
  streamLeader(): Promise<NatsNode>;
  /** The node leading the projector's consumer now (where the projectors' pulls go). */
  consumerLeader(): Promise<NatsNode>;
  /** WEBHOOKS' unprojected messages and the consumer's pending ones. */
  backlog(): Promise<{
    messages: number;
    pending: number;
    ackPending: number;
    /** The stream's last sequence and the last one the consumer delivered (never above it, normally). */
    lastSeq: number;
    deliveredSeq: number;
  }>;
  close(): Promise<void>;
}

// Settings that make faults visible within a short run: a killed projector's batch comes back
// after 5 s; the ingress sheds beyond 128 webhooks in flight (reachable on 2 cores).
const CHAOS_ENV = {
  LOG_LEVEL: "error",
  ACK_WAIT_SECONDS: "5",
  MAX_IN_FLIGHT: "128",
  OTEL_SDK_DISABLED: "true",
};

/** Runs a command, throwing when it fails. */
function run(cmd: string[]): void {
  const p = Bun.spawnSync(cmd, { stdout: "ignore", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd[0]} failed: ${p.stderr.toString()}`);
}

/**
 * A directory holding one size-limited filesystem (tmpfs) a node, mounted where the harness puts
 * that node's store (<root>/n<i>-store), so one node's disk can fill while the others' do not.
 * Undefined when this machine does not allow mounting (not root).
 */
function mountStores(sizeMiB: number, nodes: number): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const root = mkdtempSync(join(tmpdir(), "hookline-chaos-store-"));
  try {
    for (let i = 1; i <= nodes; i++) {
      const dir = join(root, `n${i}-store`);
      mkdirSync(dir);
      run(["mount", "-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", dir]);
    }
    return root;
  } catch {
    unmount(root);
    return undefined;
  }
}

/** Topologies not closed yet: closeAll() stops them when the run is interrupted. */
const open = new Set<Topology>();

export async function closeAll(): Promise<void> {
  await Promise.all([...open].map((t) => t.close()));
}

function unmount(root: string) {
  for (const name of readdirSync(root)) {
    try {
      run(["umount", join(root, name)]);
    } catch {
      // not mounted, or still busy: detached now, freed when the last user goes
      Bun.spawnSync(["umount", "-l", join(root, name)], { stdout: "ignore", stderr: "ignore" });
    }
  }
  rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}

export async function startTopology(opts: TopologyOptions): Promise<Topology> {
  const { natsNodes, storeFsMiB = 0 } = opts;
  const storeFs = storeFsMiB ? mountStores(storeFsMiB, natsNodes) : undefined;
  const parts = await Promise.allSettled([
    // Its own Postgres (never the shared one on :5432, which other test runs use), which a fault
    // may halt, kill and start again on the same data directory; fsync on, as in production.
    startPostgresServer({ fsync: true, maxConnections: 100 }),
    startRedisServer(),
    // On a small filesystem JetStream would size its limit to the disk and refuse the 1 GiB
    // stream; with a larger limit the disk itself fills, which is the fault.
    startNatsCluster(natsNodes, storeFs ? { storeRoot: storeFs, maxFileStore: "4G" } : {}),
  ]);
  const failed = parts.find((p) => p.status === "rejected");
  if (failed) {
    // Nothing half-started is left behind.
    const [pg, redis, nats] = parts.map((p) => (p.status === "fulfilled" ? p.value : undefined)) as [
      PostgresServer?,
      RedisServer?,
      NatsCluster?,
    ];
    await pg?.stop();
    await redis?.stop();
    await nats?.dispose();
    if (storeFs) unmount(storeFs);
    throw (failed as PromiseRejectedResult).reason;
  }
  const [pg, redis, nats] = parts.map((p) => (p as PromiseFulfilledResult<unknown>).value) as [
    PostgresServer,
    RedisServer,
    NatsCluster,
  ];
  const infra = { pg, redis, nats, storeFs };
  const topology = await startServices(opts, infra).catch(async (error) => {
    await pg.stop();
    await redis.stop();
    await nats.dispose();
    if (storeFs) unmount(storeFs);
    throw error;
  });
  open.add(topology);
  return topology;
}

async function startServices(
  opts: TopologyOptions,
  { pg, redis, nats, storeFs }: { pg: PostgresServer; redis: RedisServer; nats: NatsCluster; storeFs?: string },
): Promise<Topology> {
  const { natsNodes, ingresses = 2, projectors = 3 } = opts;
  const sql = createDb(pg.url, { name: "hookline-chaos", max: 4 });
  await migrate(sql);
  const nc = await connect({ servers: nats.url.split(","), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const replicas: Record<string, string> = natsNodes > 1 ? { STREAM_REPLICAS: String(natsNodes) } : {};
  await provisionJetStream(nc, natsNodes > 1 ? { streamReplicas: natsNodes } : {});
  const env: Record<string, string> = {
    ...CHAOS_ENV,
    ...replicas,
    NATS_URL: nats.url,
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
  };
  const start = (name: "ingress" | "projector" | "dashboard") => startService(name, env);
  const ingress: Service[] = [];
  const projector: Service[] = [];
  let dashboard: Service | undefined;
  try {
    for (let i = 0; i < ingresses; i++) ingress.push(await start("ingress"));
    for (let i = 0; i < projectors; i++) projector.push(await start("projector"));
    dashboard = await start("dashboard");
  } catch (error) {
    await Promise.all([...ingress, ...projector].map((s) => s.kill("SIGKILL")));
    await nc.close();
    await sql.end({ timeout: 1 });
    throw error;
  }
  const jsm = await jetstreamManager(nc);
  const topology: Topology = {
    natsNodes,
    nats,
    nc,
    pg,
    redis,
    sql,
    ingress,
    projector,
    dashboard: dashboard!,
    storeFs,
    async restart(kind, i) {
      const list = kind === "ingress" ? ingress : projector;
      await list[i]?.kill("SIGKILL");
      // The ingress must come back on its port: senders (the load balancer) know it by address.
      const port = kind === "ingress" ? new URL(list[i]!.url).port : undefined;
      list[i] = await startService(kind, port ? { ...env, PORT: port } : env);
      return list[i]!;
    },
    async streamLeader() {
      const info = await jsm.streams.info(STREAM);
      return nats.node(info.cluster?.leader ?? "n1");
    },
    async consumerLeader() {
      const info = await jsm.consumers.info(STREAM, PROJECTOR_CONSUMER);
      return nats.node(info.cluster?.leader ?? "n1");
    },
    async backlog() {
      const [s, c] = await Promise.all([jsm.streams.info(STREAM), jsm.consumers.info(STREAM, PROJECTOR_CONSUMER)]);
      return {
        messages: s.state.messages,
        pending: c.num_pending,
        ackPending: c.num_ack_pending,
        lastSeq: s.state.last_seq,
        deliveredSeq: c.delivered.stream_seq,
      };
    },
    async close() {
      if (!open.delete(topology)) return;
      await Promise.all([...ingress, ...projector, dashboard].map((s) => s.kill("SIGKILL")));
      await nc.close().catch(() => {});
      await sql.end({ timeout: 1 }).catch(() => {});
      // Each part stopped whatever another's cleanup throws (a store on a mount point cannot be
      // removed before it is unmounted: EBUSY).
      const results = await Promise.allSettled([nats.dispose(), redis.stop(), pg.stop()]);
      if (storeFs) unmount(storeFs);
      const failed = results.find((r) => r.status === "rejected" && !/EBUSY/.test(String(r.reason)));
      if (failed) throw (failed as PromiseRejectedResult).reason;
    },
  };
  return topology;
}
