// Which patient details go through the Redis cache (shared/patient-cache.ts). Entries live
// CACHE_TTL_SECONDS (30 s by default), and a detail opened once is seldom opened again that soon:
// looking it up in Redis first and storing it after cost each such read a round trip to Redis, a
// sealed 3-4 kB entry written and a script run there, for an entry that then expired unread
// (ops/bench dashboard at 1M patients, random details: 10-15% more details a second without the
// write alone). A detail read now goes to the cache only when this pod read the same patient
// within the TTL: its first read is a database read and nothing more, its second looks up the
// cache and stores what the database returned, the next ones are served from Redis.
//
// Cache-aside stays correct whichever way a read goes (the database is the truth, and a put is
// still refused when a writer invalidated since the generation was read). Per process: with
// several dashboard pods a patient takes a first read on each before it uses the cache there.

export interface CacheAdmission {
  /**
   * Whether the read of `id` should go through the cache: true when this pod read `id` within
   * the window (each read renews it), false for a first read (which is remembered).
   */
  admit(id: string): boolean;
}

/**
 * @example
 *   const admission = recentReadAdmission({ windowMs: ttlSeconds * 1000 });
 *   if (!admission.admit(id)) return readFromDatabase(id);
 */
export function recentReadAdmission({
  windowMs,
  maxIds = 10_000,
  now = Date.now,
}: {
  windowMs: number;
  /** Ids remembered at most (the least recently read are forgotten first). */
  maxIds?: number;
  now?: () => number;
}): CacheAdmission {
  // Last read by id; a Map iterates in insertion order, so its first key is the least recent.
  const read = new Map<string, number>();
  return {
    admit(id) {
      const at = now();
      const last = read.get(id);
      read.delete(id);
      read.set(id, at);
      if (read.size > maxIds) {
        // The least recent tenth at once (one walk from the head, as row-cache.ts does).
        let drop = read.size - maxIds + Math.ceil(maxIds / 10);
        for (const key of read.keys()) {
          if (drop-- <= 0) break;
          read.delete(key);
        }
      }
      return last !== undefined && at - last <= windowMs;
    },
  };
}
