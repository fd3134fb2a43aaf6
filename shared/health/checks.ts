// The checks /health/detailed runs (shared/http/health-detailed.ts): each reads one
// dependency's state now and says what it means for the service. A check throws when its
// dependency cannot be asked at all; the route turns that (and a check that takes too long)
// into the check's `whenDown` status with the error's message as the reason.
import { statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Sql } from "postgres";
import type { Redis } from "../cache.ts";
import { keyAges } from "../crypto/key-age.ts";
import type { Keys } from "../crypto/keys.ts";
import { natsConnected } from "../nats.ts";
import { fillOf, lagOf } from "../stream-fill.ts";
import { VERSION } from "../version.ts";

export type HealthStatus = "healthy" | "degraded" | "unhealthy";

/** What a check found: its status (with the reason unless healthy) and details for the operator. */
export interface CheckResult {
  status: HealthStatus;
  reason?: string;
  [detail: string]: unknown;
}

export interface HealthCheck {
  run(): Promise<CheckResult>;
  /** The status when run() throws or times out: unhealthy for what the service cannot work without. */
  whenDown: "degraded" | "unhealthy";
}

const ms = (started: number) => Math.round((performance.now() - started) * 100) / 100;

/** The NATS connection: connected, which server, round-trip time. Without NATS nothing is received or projected. */
export function natsCheck(nc: NatsConnection): HealthCheck {
  return {
    whenDown: "unhealthy",
    async run() {
      if (!natsConnected(nc)) throw new Error("not connected (reconnecting)");
      const started = performance.now();
      await nc.rtt();
      return {
        status: "healthy",
        connected: true,
        server: nc.getServer(),
        serverVersion: nc.info?.version,
        rttMs: ms(started),
      };
    },
  };
}

/** At this fill a stream is close to refusing: degraded before it is unhealthy. */
const NEARLY_FULL = 0.9;

/**
 * Streams (fill against their limits) and the projector consumer (lag = num_pending +
 * num_ack_pending, what KEDA scales on). `full` is how bad a full WEBHOOKS is for this
 * service: the ingress refuses webhooks then (unhealthy); the projector only drains it.
 */
export function jetStreamCheck(
  jsm: JetStreamManager,
  opts: {
    streams: string[];
    consumer: { stream: string; consumer: string };
    /** The stream whose fill decides the status (the others are reported). */
    refusing: string;
    /** Status when `refusing` is full. */
    full: "degraded" | "unhealthy";
    /** Status when the consumer does not exist (yet). */
    noConsumer: "degraded" | "unhealthy";
  },
): HealthCheck {
  return {
    whenDown: "unhealthy",
    async run() {
      const streams = [];
      for (const name of opts.streams) streams.push(fillOf(await jsm.streams.info(name)));
      const reasons: string[] = [];
      let status: HealthStatus = "healthy";
      const worsen = (to: HealthStatus, reason: string) => {
        if (to === "unhealthy" || status === "healthy") status = to;
        reasons.push(reason);
      };
      for (const s of streams) {
        if (s.fillRatio >= 1)
          worsen(
            s.stream === opts.refusing ? opts.full : "degraded",
            `stream ${s.stream} is full: it refuses messages`,
          );
        else if (s.fillRatio >= NEARLY_FULL)
          worsen("degraded", `stream ${s.stream} is ${Math.round(s.fillRatio * 100)}% full`);
      }
      let consumer: ReturnType<typeof lagOf> | { stream: string; consumer: string; missing: true };
      try {
        consumer = lagOf(await jsm.consumers.info(opts.consumer.stream, opts.consumer.consumer));
      } catch (error) {
        if ((error as { code?: unknown }).code !== 404 && !/not found/i.test((error as Error).message)) throw error;
        consumer = { ...opts.consumer, missing: true };
        worsen(opts.noConsumer, `consumer ${opts.consumer.consumer} does not exist (no projector has provisioned it)`);
      }
      return { status, ...(reasons.length ? { reason: reasons.join("; ") } : {}), streams, consumer };
    },
  };
}

/** A standby whose last replayed transaction is older than this is degraded (its reads are stale). */
const STANDBY_LAG_DEGRADED_SECONDS = 60;

/**
 * Postgres: reachable, round-trip of one query, and replication. Connected to a standby, its
 * replay lag (now() - pg_last_xact_replay_timestamp(): it also grows while the primary is
 * idle); on a primary, the streaming replicas pg_stat_replication shows (their replay_lag
 * needs pg_monitor or superuser, else null).
 */
export function postgresCheck(sql: Sql): HealthCheck {
  return {
    whenDown: "unhealthy",
    async run() {
      const started = performance.now();
      const [row] = await sql<
        { standby: boolean; standbyLag: number | null; replicas: number; replicaLag: number | null }[]
      >`select pg_is_in_recovery() as standby,
          extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as "standbyLag",
          (select count(*)::int from pg_stat_replication) as replicas,
          (select extract(epoch from max(replay_lag))::float8 from pg_stat_replication) as "replicaLag"`;
      const latencyMs = ms(started);
      const replication = row!.standby
        ? { role: "standby", replicationLagSeconds: row!.standbyLag }
        : { role: "primary", replicas: row!.replicas, maxReplicaLagSeconds: row!.replicaLag };
      const lagging = row!.standby && (row!.standbyLag ?? 0) > STANDBY_LAG_DEGRADED_SECONDS;
      return {
        status: lagging ? "degraded" : "healthy",
        ...(lagging ? { reason: `the standby replays ${Math.round(row!.standbyLag!)} s behind its primary` } : {}),
        reachable: true,
        latencyMs,
        ...replication,
      };
    },
  };
}

/** Redis: reachable and its round-trip. The services work on without it (degraded): see each use. */
export function redisCheck(redis: Redis): HealthCheck {
  return {
    whenDown: "degraded",
    async run() {
      const started = performance.now();
      // The client queues nothing while disconnected (createRedis): this fails at once then.
      await redis.ping();
      return { status: "healthy", reachable: true, latencyMs: ms(started) };
    },
  };
}

/** Below this share of free space a file system is degraded. */
const LOW_DISK_RATIO = 0.05;

/**
 * Free space where the service may write: the temp directory (request bodies Bun spools,
 * heap snapshots, anything a library writes). The services keep no data of their own on disk.
 */
export function diskCheck(dirs: string[] = [tmpdir()]): HealthCheck {
  return {
    whenDown: "degraded",
    async run() {
      const paths = [];
      for (const path of dirs) {
        const s = await statfs(path);
        const total = s.blocks * s.bsize;
        // bavail: what an unprivileged process may still use (bfree includes root's reserve).
        const free = s.bavail * s.bsize;
        paths.push({ path, freeBytes: free, totalBytes: total, freeRatio: total ? free / total : 0 });
      }
      const low = paths.filter((p) => p.freeRatio < LOW_DISK_RATIO);
      return {
        status: low.length ? "degraded" : "healthy",
        ...(low.length
          ? { reason: low.map((p) => `${p.path} has ${Math.round(p.freeRatio * 1000) / 10}% free`).join("; ") }
          : {}),
        paths,
      };
    },
  };
}

/** Who is answering: version (package.json, embedded in the executable), runtime, executable, uptime. */
export function versionInfo() {
  return {
    version: VERSION,
    runtime: `bun ${Bun.version}`,
    executable: process.execPath,
    // Inside `bun build --compile` output the sources live in Bun's embedded file system.
    compiled: import.meta.url.includes("$bunfs"),
    startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    uptimeSeconds: Math.round(process.uptime()),
  };
}

/**
 * The encryption keyrings (shared/crypto/key-age.ts, as /health/ready and `hookline keys status`
 * report them): each current key's id and age, never key material. A current key past its
 * rotation age is degraded: nothing fails, but it is due.
 */
export function keysCheck(keys: Keys): HealthCheck {
  return {
    whenDown: "degraded",
    async run() {
      const ages = keyAges(keys);
      const due = Object.entries(ages).filter(([, age]) => age.warning);
      return {
        status: due.length ? "degraded" : "healthy",
        ...(due.length
          ? { reason: due.map(([ring, age]) => `${ring} key ${age.current} is ${age.warning}`).join("; ") }
          : {}),
        ...ages,
      };
    },
  };
}
