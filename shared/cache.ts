import Redis from "ioredis";
import type { Logger } from "./logger.ts";

export type { Redis };

export function createRedis(url: string, name: string, log: Logger): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    // Cache is an accelerator, not a store: fail calls fast instead of queueing them.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: false,
  });
  // Without a listener ioredis reports every failed reconnect as an unhandled error.
  redis.on("error", (error) => log.warn({ err: error.message }, "redis error"));
  return redis;
}
