// Which checks /health/detailed runs on each service, and what a failure means there: the one
// place that says NATS down is unhealthy for the ingress (it cannot store webhooks) while
// Redis down is only degraded everywhere (rate limits fall back per pod, the dashboard reads
// Postgres, cache invalidation waits for the TTL).
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Sql } from "postgres";
import type { Redis } from "../cache.ts";
import type { Keys } from "../crypto/keys.ts";
import { DLQ_STREAM, PROJECTOR_CONSUMER, STREAM } from "../nats.ts";
import {
  diskCheck,
  type HealthCheck,
  jetStreamCheck,
  keysCheck,
  natsCheck,
  postgresCheck,
  redisCheck,
} from "./checks.ts";

const consumer = { stream: STREAM, consumer: PROJECTOR_CONSUMER };

export function ingressChecks(d: {
  nc: NatsConnection;
  jsm: JetStreamManager;
  redis?: Redis;
}): Record<string, HealthCheck> {
  return {
    nats: natsCheck(d.nc),
    // A full WEBHOOKS means every webhook is refused; a missing consumer only that none is projected yet.
    jetstream: jetStreamCheck(d.jsm, {
      streams: [STREAM, DLQ_STREAM],
      consumer,
      refusing: STREAM,
      full: "unhealthy",
      noConsumer: "degraded",
    }),
    // Only with REDIS_URL (shared rate limits).
    ...(d.redis ? { redis: redisCheck(d.redis) } : {}),
    disk: diskCheck(),
  };
}

export function projectorChecks(d: {
  nc: NatsConnection;
  jsm: JetStreamManager;
  sql: Sql;
  redis: Redis;
  keys: Keys;
}): Record<string, HealthCheck> {
  return {
    nats: natsCheck(d.nc),
    // The projector drains a full stream; without its consumer it has nothing to consume.
    jetstream: jetStreamCheck(d.jsm, {
      streams: [STREAM, DLQ_STREAM],
      consumer,
      refusing: STREAM,
      full: "degraded",
      noConsumer: "unhealthy",
    }),
    postgres: postgresCheck(d.sql),
    redis: redisCheck(d.redis),
    disk: diskCheck(),
    keys: keysCheck(d.keys),
  };
}

export function dashboardChecks(d: { sql: Sql; redis: Redis; keys: Keys }): Record<string, HealthCheck> {
  return {
    postgres: postgresCheck(d.sql),
    redis: redisCheck(d.redis),
    disk: diskCheck(),
    keys: keysCheck(d.keys),
  };
}
