// Canonical JSON: one text per value, whatever the order its keys were built or stored in,
// so that a hash computed before a value was written equals the hash of the value read back
// (jsonb reorders keys). Keys are sorted by UTF-16 code units and there is no whitespace, as
// in RFC 8785 (JCS); strings and numbers are written as JSON.stringify writes them (which is
// what JCS prescribes). Everything else follows JSON.stringify too (undefined members
// dropped, undefined or a function in an array and non-finite numbers written as null, toJSON
// honoured), so a value and JSON.parse(JSON.stringify(value)) have the same canonical text.

export class CanonicalJsonError extends Error {
  readonly code = "audit_not_canonical";
}

/** Characters JSON.stringify escapes (quote, backslash, controls) or may (surrogates). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it looks for
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string as JSON.stringify writes it; most need no escaping, and testing for that is faster. */
export const quote = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);

/**
 * Below this depth no cycle is looked for (one could only show deeper); from it on, the
 * objects on the path are kept in a set. Saves a set for every value that is not deep.
 */
const CYCLE_CHECK_DEPTH = 32;

/** Members JSON leaves out of objects (and writes as null in arrays). */
const skipped = (v: unknown) => v === undefined || typeof v === "function" || typeof v === "symbol";

// Built by string concatenation (faster here than collecting parts): it runs for every
// audited change, in the projector's batch.
function write(value: unknown, depth: number, path: { seen?: Set<object> }): string {
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      // For finite numbers String() and JSON.stringify() agree (-0 → "0", 1e21 → "1e+21").
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      throw new CanonicalJsonError("a bigint has no JSON form; pass it as a string");
    case "object":
      break;
    default: // undefined, function, symbol: only reached at the top level or in an array
      return "null";
  }
  if (value === null) return "null";
  if (typeof (value as { toJSON?: unknown }).toJSON === "function")
    return write((value as { toJSON: () => unknown }).toJSON(), depth, path);
  if (depth >= CYCLE_CHECK_DEPTH) path.seen ??= new Set();
  const seen = depth >= CYCLE_CHECK_DEPTH ? path.seen : undefined;
  if (seen?.has(value)) throw new CanonicalJsonError("a value that contains itself has no JSON form");
  seen?.add(value);
  let out: string;
  if (Array.isArray(value)) {
    out = "[";
    for (let i = 0; i < value.length; i++) out += (i > 0 ? "," : "") + write(value[i], depth + 1, path);
    out += "]";
  } else {
    out = "{";
    let first = true;
    // Default sort compares UTF-16 code units, as JCS asks.
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (skipped(member)) continue;
      out += `${first ? "" : ","}${quote(key)}:${write(member, depth + 1, path)}`;
      first = false;
    }
    out += "}";
  }
  seen?.delete(value);
  return out;
}

/** The canonical JSON text of `value`. */
export function canonicalJson(value: unknown): string {
  return write(value, 0, {});
}

/** The key of entity hashes (shared/crypto/audit-hash-key.ts) and the id an entry names it by. */
export interface EntityHashKey {
  readonly id: string;
  readonly key: Uint8Array;
}

/**
 * HMAC-SHA256 under `key` of an entity's canonical JSON: what the audit trail keeps of a state
 * (before or after a change) instead of the state itself. Keyed, so that an export of the trail
 * does not let its holder confirm a guessed state (an erased patient's name, email and phone)
 * by hashing the guess. The chain's row hashes (chain.ts) stay plain SHA-256: they cover rows.
 */
export function entityHash(key: EntityHashKey, value: unknown): Buffer {
  return new Bun.CryptoHasher("sha256", key.key).update(canonicalJson(value)).digest();
}
