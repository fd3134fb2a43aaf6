// The patient cache's whole protocol, for its one reader (the dashboard) and its writers
// (the projector, a resolved conflict). Cache-aside with a per-patient generation counter:
// a reader reads the generation before the database, and its entry is stored only if no
// writer bumped the generation meanwhile. Plain GET/SET/DEL cannot do that: a reader that
// read the old row before a writer's commit could store it after the writer's DEL and serve
// it for the whole TTL.
//
// Entries are patient records, so Redis never holds one in clear: each is sealed with the
// data keyring (shared/crypto/envelope.ts) for that patient's id, and expires after the TTL
// (CACHE_TTL_SECONDS, at most a day). Generation counters hold only numbers.
import type { Redis } from "./cache.ts";
import { open, seal } from "./crypto/envelope.ts";
import type { Keyring } from "./crypto/keyring.ts";

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

// A batch's invalidations in one command: KEYS are each patient's generation then entry key,
// ARGV[1] the generation's TTL. As a MULTI of INCR/EXPIRE/DEL (three commands a patient) it
// was 8% of the projector's CPU (issue #13 item 4), the client's per-command work; atomic the
// same way (a script runs whole).
const INVALIDATE = `
for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[1])
  redis.call('DEL', KEYS[i + 1])
end
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

/** What an entry is sealed for: its patient, so an entry copied to another patient's key does not open. */
const purpose = (id: string) => `redis.patient:${id}`;

/**
 * `ttlSeconds` 0 (the default, for writers that only invalidate) caches nothing; caching needs
 * `keys`, the data keyring that seals the entries.
 */
export function createPatientCache<T>(
  redis: Redis,
  { ttlSeconds = 0, keys }: { ttlSeconds?: number; keys?: Keyring } = {},
): PatientCache<T> {
  if (ttlSeconds > 0 && !keys)
    throw Object.assign(new Error("the patient cache seals its entries: it needs the data keyring"), {
      code: "cache_without_keys",
    });
  return {
    async get(id) {
      if (ttlSeconds <= 0 || !keys) return { hit: false, generation: NO_WRITES };
      const [generation = null, raw = null] = await redis.mgetBuffer(generationKey(id), entryKey(id));
      const current = generation?.toString() ?? NO_WRITES;
      if (raw) {
        const entry = JSON.parse(open(keys, purpose(id), raw).toString("utf8")) as { generation: string; value: T };
        // Stale entries are never stored (put checks), but the tag makes a hit self-evidently current.
        if (entry.generation === current) return { hit: true, value: entry.value };
      }
      return { hit: false, generation: current };
    },
    async put(id, generation, value) {
      if (ttlSeconds <= 0 || !keys) return false;
      const stored = await redis.eval(
        PUT_IF_CURRENT,
        2,
        generationKey(id),
        entryKey(id),
        generation,
        seal(keys, purpose(id), JSON.stringify({ generation, value })),
        ttlSeconds,
      );
      return stored === 1;
    },
    async invalidate(ids) {
      if (!ids.length) return;
      const keys = ids.flatMap((id) => [generationKey(id), entryKey(id)]);
      try {
        await redis.eval(INVALIDATE, keys.length, ...keys, GENERATION_TTL_SECONDS);
      } catch (failed) {
        throw Object.assign(
          new Error(`patient cache invalidation failed: ${(failed as Error).message}`, { cause: failed }),
          { code: "cache_invalidation_failed" },
        );
      }
    },
  };
}
