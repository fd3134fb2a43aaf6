// Shared-token comparison (HeyFlow cannot sign). Both sides are hashed first so the
// constant-time compare always sees equal lengths: neither the token nor its length leaks.
import { createHash } from "node:crypto";
import { constantTimeEqual } from "./hmac.ts";

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * True when `presented` equals any of `tokens`. Every token is compared (no early exit).
 * Empty never matches: neither an empty presented token (an HTTP Basic header with no
 * password) nor an empty configured one (start-up refuses those; this is the backstop).
 */
export function tokenMatches(presented: string, tokens: readonly string[]): boolean {
  if (presented.length === 0) return false;
  const p = digest(presented);
  let ok = false;
  for (const token of tokens) if (token.length > 0) ok = constantTimeEqual(p, digest(token)) || ok;
  return ok;
}

/** Constant-time equality of two strings of any length. */
export function constantTimeStringEqual(a: string, b: string): boolean {
  return constantTimeEqual(digest(a), digest(b));
}

/** Builds an HTTP Basic Authorization header value (tests and the bench use it). */
export function basicAuthHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
}

/** Parses `Authorization: Basic ...`; undefined when absent or malformed. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
