import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * False for an empty key. HMAC accepts one, and anybody can compute a MAC with it, so a
 * verifier skips such a key: it never verifies (start-up refuses it too, this is the backstop).
 */
export function usableKey(key: Uint8Array | string): boolean {
  return key.length > 0;
}

/** HMAC-SHA256 over raw bytes. */
export function hmacSha256(key: Uint8Array | string, ...parts: (Uint8Array | string)[]): Buffer {
  const mac = createHmac("sha256", key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** Constant-time equality of two byte strings; different lengths compare unequal without leaking where. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    // Still spend a compare so timing does not reveal the length check alone.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
