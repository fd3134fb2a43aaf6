import Redis from "ioredis";

export type { Redis };

export function createRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    // Cache is an accelerator, not a store: fail calls fast instead of queueing them.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: false,
  });
}
