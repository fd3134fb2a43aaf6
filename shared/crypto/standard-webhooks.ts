// Standard Webhooks (https://www.standardwebhooks.com): the signed content is
// "<webhook-id>.<webhook-timestamp>.<raw body>", HMAC-SHA256 with the secret's bytes,
// sent as space-separated "v1,<base64>" entries (several during key rotation).
import { constantTimeEqual, hmacSha256 } from "./hmac.ts";

export type VerifyResult =
  | { ok: true; id: string; timestamp: number }
  | { ok: false; code: "missing_signature" | "invalid_signature" | "timestamp_out_of_range"; message: string };

/** Decodes a `whsec_<base64>` secret (or bare base64) into key bytes. */
export function decodeStandardSecret(secret: string): Buffer {
  const b64 = secret.startsWith("whsec_") ? secret.slice(6) : secret;
  return Buffer.from(b64, "base64");
}

export function signStandardWebhook(secret: string, id: string, timestamp: number, body: Uint8Array | string): string {
  return "v1," + hmacSha256(decodeStandardSecret(secret), `${id}.${timestamp}.`, body).toString("base64");
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
    return { ok: false, code: "missing_signature", message: "webhook-id, webhook-timestamp and webhook-signature headers are required" };
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, code: "invalid_signature", message: "webhook-timestamp must be unix seconds" };
  }
  const ts = Number(timestamp);
  if (Math.abs(nowMs / 1000 - ts) > toleranceSeconds) {
    return { ok: false, code: "timestamp_out_of_range", message: `webhook-timestamp is more than ${toleranceSeconds}s from now` };
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
    const expected = hmacSha256(decodeStandardSecret(secret), `${id}.${timestamp}.`, body);
    // Check every candidate against every secret: no early exit on a partial match.
    for (const candidate of candidates) if (constantTimeEqual(expected, candidate)) return { ok: true, id, timestamp: ts };
  }
  return { ok: false, code: "invalid_signature", message: "no signature matches" };
}
