// Canonical JSON: one text per value, whatever the order its keys were built or stored in,
// so that a hash computed before a value was written equals the hash of the value read back
// (jsonb reorders keys). Keys are sorted by UTF-16 code units and there is no whitespace, as
// in RFC 8785 (JCS); strings and numbers are written as JSON.stringify writes them (which is
// what JCS prescribes). Everything else follows JSON.stringify too (undefined members
// dropped, undefined or a function in an array and non-finite numbers written as null, toJSON
// honoured), so a value and JSON.parse(JSON.stringify(value)) have the same canonical text.
import { createHash } from "node:crypto";

export class CanonicalJsonError extends Error {
  readonly code = "audit_not_canonical";
}

function write(value: unknown, out: string[], seen: Set<object>): void {
  if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function")
    value = (value as { toJSON: () => unknown }).toJSON();
  switch (typeof value) {
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "number":
      out.push(Number.isFinite(value) ? JSON.stringify(value) : "null");
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "bigint":
      throw new CanonicalJsonError("a bigint has no JSON form; pass it as a string");
    case "object":
      break;
    default: // undefined, function, symbol: only reached at the top level or in an array
      out.push("null");
      return;
  }
  if (value === null) {
    out.push("null");
    return;
  }
  if (seen.has(value)) throw new CanonicalJsonError("a value that contains itself has no JSON form");
  seen.add(value);
  if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item, i) => {
      if (i > 0) out.push(",");
      write(item, out, seen);
    });
    out.push("]");
  } else {
    out.push("{");
    let first = true;
    // Default sort compares UTF-16 code units, as JCS asks.
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member === undefined || typeof member === "function" || typeof member === "symbol") continue;
      if (!first) out.push(",");
      first = false;
      out.push(JSON.stringify(key), ":");
      write(member, out, seen);
    }
    out.push("}");
  }
  seen.delete(value);
}

/** The canonical JSON text of `value`. */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, out, new Set());
  return out.join("");
}

/**
 * SHA-256 of an entity's canonical JSON: what the audit trail keeps of a state (before or
 * after a change) instead of the state itself.
 */
export function entityHash(value: unknown): Buffer {
  return createHash("sha256").update(canonicalJson(value)).digest();
}
