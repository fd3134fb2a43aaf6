import type { ConnectionOptions } from "node:tls";
import Redis from "ioredis";
import type { Logger } from "./logger.ts";
import { explainTlsFailure } from "./tls.ts";

export type { Redis };

/** `tls`: from shared/tls.ts (loadConnectionTls); without it a rediss:// URL verifies against the system's CAs. */
export function createRedis(url: string, name: string, log: Logger, tls?: ConnectionOptions): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    ...(tls ? { tls } : {}),
    // Cache is an accelerator, not a store: fail calls fast instead of queueing them.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: false,
  });
  // Without a listener ioredis reports every failed reconnect as an unhandled error.
  redis.on("error", (error) => log.warn({ err: (explainTlsFailure("redis", error) ?? error).message }, "redis error"));
  return redis;
}
