// Finding a database token for a request. Each pod keeps what it found (or did not find) for a
// few seconds, keyed by the token's digest, so an API client costs one query per TTL, not one
// per request. Revocation is therefore seen by every pod within the TTL (default 5 s): simpler
// and sturdier than LISTEN/NOTIFY, which needs a dedicated connection per pod and loses
// notifications sent while it reconnects. Expiry is checked on every request against the
// pod's clock, so a cached token stops working at its expiry exactly.
import type { Logger } from "../../shared/logger.ts";
import { type ActiveToken, tokenDigest, wellFormedToken } from "./tokens.ts";

export interface TokenLookupDeps {
  find: (digest: Buffer) => Promise<ActiveToken | null>;
  /** Writes last_used_at (touchToken); called at most once per touchEveryMs per token. */
  touch: (id: string) => Promise<void>;
  log: Logger;
  now?: () => number;
  ttlMs?: number;
  touchEveryMs?: number;
  maxEntries?: number;
}

const TOKEN_CACHE_TTL_MS = 5_000;

/** Returns the token's record when it is known, unrevoked (as of at most ttlMs ago) and unexpired. */
export function createTokenLookup(deps: TokenLookupDeps): (token: string) => Promise<ActiveToken | null> {
  const now = deps.now ?? Date.now;
  const ttlMs = deps.ttlMs ?? TOKEN_CACHE_TTL_MS;
  const touchEveryMs = deps.touchEveryMs ?? 60_000;
  const maxEntries = deps.maxEntries ?? 10_000;
  // Map order is insertion order: the first key is the oldest entry.
  const cache = new Map<string, { at: number; found: Promise<ActiveToken | null> }>();
  const touched = new Map<string, number>();

  function remember<V>(map: Map<string, V>, key: string, value: V) {
    map.delete(key);
    if (map.size >= maxEntries) map.delete(map.keys().next().value!);
    map.set(key, value);
  }

  function noteUse(id: string) {
    const last = touched.get(id);
    if (last !== undefined && now() - last < touchEveryMs) return;
    remember(touched, id, now());
    deps.touch(id).catch((error) => deps.log.warn({ err: (error as Error).message }, "could not note a token's use"));
  }

  return async (token) => {
    if (!wellFormedToken(token)) return null;
    const key = tokenDigest(token).toString("hex");
    let entry = cache.get(key);
    if (!entry || now() - entry.at >= ttlMs) {
      entry = { at: now(), found: deps.find(Buffer.from(key, "hex")) };
      remember(cache, key, entry);
      // A failure is not remembered: the next request asks again.
      entry.found.catch(() => {
        if (cache.get(key) === entry) cache.delete(key);
      });
    }
    const found = await entry.found;
    if (!found || (found.expiresAt !== null && found.expiresAt <= now())) return null;
    noteUse(found.id);
    return found;
  };
}
