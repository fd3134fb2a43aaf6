// Standard Webhooks (https://www.standardwebhooks.com): the signed content is
// "<webhook-id>.<webhook-timestamp>.<raw body>", HMAC-SHA256 with the secret's bytes,
// sent as space-separated "v1,<base64>" entries (several during key rotation).
import { constantTimeEqual, hmacSha256, usableKey } from "./hmac.ts";

export type VerifyResult =
  | { ok: true; id: string; timestamp: number }
  | { ok: false; code: "missing_signature" | "invalid_signature" | "timestamp_out_of_range"; message: string };

export const STANDARD_SECRET_PREFIX = "whsec_";
/** The request headers a Standard Webhooks sender signs with (lower-cased, as the ingress reads them). */
export const STANDARD_WEBHOOK_HEADERS = {
  id: "webhook-id",
  timestamp: "webhook-timestamp",
  signature: "webhook-signature",
} as const;
/** Padded standard base64 (no whitespace, no URL-safe letters). Linear: no nested quantifiers. */
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes a `whsec_<base64>` secret (or bare base64) into key bytes, strictly: Buffer.from
 * skips junk and whitespace, which would turn a malformed secret into a short or 0-byte key.
 * Anything but canonical padded base64 gives an empty buffer, which never verifies.
 */
export function decodeStandardSecret(secret: string): Buffer {
  const b64 = secret.startsWith(STANDARD_SECRET_PREFIX) ? secret.slice(STANDARD_SECRET_PREFIX.length) : secret;
  if (!STRICT_BASE64.test(b64)) return Buffer.alloc(0);
  const key = Buffer.from(b64, "base64");
  // Canonical only (no stray bits in the last character), so one key has one spelling.
  return key.toString("base64") === b64 ? key : Buffer.alloc(0);
}

export function signStandardWebhook(secret: string, id: string, timestamp: number, body: Uint8Array | string): string {
  const key = decodeStandardSecret(secret);
  if (!usableKey(key))
    throw new Error("the Standard Webhooks secret is not whsec_<base64>; refusing to sign with an empty key");
  return `v1,${hmacSha256(key, `${id}.${timestamp}.`, body).toString("base64")}`;
}

export interface StandardHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export function verifyStandardWebhook(
  headers: StandardHeaders,
  body: Uint8Array,
  secrets: readonly string[],
  nowMs: number,
  toleranceSeconds = 300,
): VerifyResult {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) {
    return {
      ok: false,
      code: "missing_signature",
      message: "webhook-id, webhook-timestamp and webhook-signature headers are required",
    };
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, code: "invalid_signature", message: "webhook-timestamp must be unix seconds" };
  }
  const ts = Number(timestamp);
  if (Math.abs(nowMs / 1000 - ts) > toleranceSeconds) {
    return {
      ok: false,
      code: "timestamp_out_of_range",
      message: `webhook-timestamp is more than ${toleranceSeconds}s from now`,
    };
  }
  const candidates: Buffer[] = [];
  for (const entry of signature.split(" ")) {
    const comma = entry.indexOf(",");
    if (comma < 0 || entry.slice(0, comma) !== "v1") continue;
    candidates.push(Buffer.from(entry.slice(comma + 1), "base64"));
  }
  if (candidates.length === 0) {
    return { ok: false, code: "invalid_signature", message: "no v1 signature in webhook-signature" };
  }
  for (const secret of secrets) {
    const key = decodeStandardSecret(secret);
    if (!usableKey(key)) continue;
    const expected = hmacSha256(key, `${id}.${timestamp}.`, body);
    // Check every candidate against every secret: no early exit on a partial match.
    for (const candidate of candidates)
      if (constantTimeEqual(expected, candidate)) return { ok: true, id, timestamp: ts };
  }
  return { ok: false, code: "invalid_signature", message: "no signature matches" };
}
