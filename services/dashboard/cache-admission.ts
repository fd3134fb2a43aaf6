// Which patient details earn a place in the Redis cache (shared/patient-cache.ts). Entries live
// CACHE_TTL_SECONDS (30 s by default), and a detail opened once is seldom opened again that soon:
// storing every miss cost each first read a sealed 3-4 kB entry written to Redis and a script
// run there, for entries that then expired unread (ops/bench dashboard at 1M patients, random
// details: 10-15% more details a second without that write). A detail is now stored on its
// second miss within the TTL: what staff open again (a reload, a colleague, the drawer reopened)
// is served from the cache from its third read, and a one-off read costs only the database read.
//
// Per process: with several dashboard pods a patient may need a second miss on each before it
// is stored, which costs database reads, never correctness (a put is still refused when a writer
// invalidated meanwhile).

export interface CacheAdmission {
  /** Whether to store the entry `id` just missed: true on its second miss within the window. */
  admit(id: string): boolean;
}

/**
 * @example
 *   const admission = secondMissAdmission({ windowMs: ttlSeconds * 1000 });
 *   if (admission.admit(id)) await cache.put(id, generation, value);
 */
export function secondMissAdmission({
  windowMs,
  maxIds = 10_000,
  now = Date.now,
}: {
  windowMs: number;
  /** Ids remembered at most (the oldest first misses are forgotten first). */
  maxIds?: number;
  now?: () => number;
}): CacheAdmission {
  // First misses by id; a Map iterates in insertion order, so its first key is the oldest.
  const missed = new Map<string, number>();
  return {
    admit(id) {
      const at = now();
      const first = missed.get(id);
      missed.delete(id);
      if (first !== undefined && at - first <= windowMs) return true;
      missed.set(id, at);
      if (missed.size > maxIds) {
        // The oldest tenth at once (one walk from the head, as row-cache.ts does).
        let drop = missed.size - maxIds + Math.ceil(maxIds / 10);
        for (const key of missed.keys()) {
          if (drop-- <= 0) break;
          missed.delete(key);
        }
      }
      return false;
    },
  };
}
