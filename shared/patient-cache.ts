// The patient cache's whole protocol, for its one reader (the dashboard) and its writers
// (the projector, a resolved conflict). Cache-aside with a per-patient generation counter:
// a reader reads the generation before the database, and its entry is stored only if no
// writer bumped the generation meanwhile. Plain GET/SET/DEL cannot do that: a reader that
// read the old row before a writer's commit could store it after the writer's DEL and serve
// it for the whole TTL.
import type { Redis } from "./cache.ts";

// Both keys of a patient share a hash tag ({id}), so they live in one slot (MGET, the script).
const entryKey = (id: string) => `hookline:patient:{${id}}:entry`;
const generationKey = (id: string) => `hookline:patient:{${id}}:generation`;
/** A missing generation counter reads as this (INCR starts from it). */
const NO_WRITES = "0";
/**
 * How long a generation outlives a patient's last write. It only has to outlast any read in
 * flight (a put is refused unless the generation is unchanged) and any entry (TTL at most a
 * day); a week keeps Redis from holding a counter for every patient ever written.
 */
const GENERATION_TTL_SECONDS = 7 * 86_400;

// Store the entry only if the generation is still the one read before the database read.
const PUT_IF_CURRENT = `
if (redis.call('GET', KEYS[1]) or '${NO_WRITES}') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1`;

type CacheLookup<T> = { hit: true; value: T } | { hit: false; generation: string };

export interface PatientCache<T> {
  /** One round trip: the entry if it is current, else the generation to hand to `put` after the database read. */
  get(id: string): Promise<CacheLookup<T>>;
  /** Stores what the database returned, unless a writer invalidated since `get`; true when stored. */
  put(id: string, generation: string, value: T): Promise<boolean>;
  /** After a commit that changed these patients: bumps their generations and drops their entries. */
  invalidate(ids: string[]): Promise<void>;
}

/** `ttlSeconds` 0 (the default, for writers that only invalidate) caches nothing. */
export function createPatientCache<T>(redis: Redis, { ttlSeconds = 0 }: { ttlSeconds?: number } = {}): PatientCache<T> {
  return {
    async get(id) {
      if (ttlSeconds <= 0) return { hit: false, generation: NO_WRITES };
      const [generation = null, raw = null] = await redis.mget(generationKey(id), entryKey(id));
      const current = generation ?? NO_WRITES;
      if (raw) {
        const entry = JSON.parse(raw) as { generation: string; value: T };
        // Stale entries are never stored (put checks), but the tag makes a hit self-evidently current.
        if (entry.generation === current) return { hit: true, value: entry.value };
      }
      return { hit: false, generation: current };
    },
    async put(id, generation, value) {
      if (ttlSeconds <= 0) return false;
      const stored = await redis.eval(
        PUT_IF_CURRENT,
        2,
        generationKey(id),
        entryKey(id),
        generation,
        JSON.stringify({ generation, value }),
        ttlSeconds,
      );
      return stored === 1;
    },
    async invalidate(ids) {
      if (!ids.length) return;
      const tx = redis.multi();
      for (const id of ids)
        tx.incr(generationKey(id)).expire(generationKey(id), GENERATION_TTL_SECONDS).del(entryKey(id));
      const failed = (await tx.exec())?.find(([error]) => error)?.[0];
      if (failed)
        throw Object.assign(new Error(`patient cache invalidation failed: ${failed.message}`, { cause: failed }), {
          code: "cache_invalidation_failed",
        });
    },
  };
}
