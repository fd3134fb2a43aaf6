// Typeform: `Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, raw body)>`.
// No timestamp is signed, so replay protection is the event_id dedup downstream.
import { constantTimeEqual, hmacSha256, usableKey } from "./hmac.ts";
import { fail, type SignatureResult } from "./result.ts";

export const TYPEFORM_SIGNATURE_HEADER = "typeform-signature";

export function signTypeform(secret: string, body: Uint8Array | string): string {
  return `sha256=${hmacSha256(secret, body).toString("base64")}`;
}

export function verifyTypeform(
  header: string | undefined,
  body: Uint8Array,
  secrets: readonly string[],
): SignatureResult {
  if (!header) return fail("missing_signature", "Typeform-Signature header is required");
  const match = /^sha256=([A-Za-z0-9+/]+={0,2})$/.exec(header.trim());
  if (!match) return fail("invalid_signature", "Typeform-Signature must look like sha256=<base64>");
  const candidate = Buffer.from(match[1]!, "base64");
  let ok = false;
  // Every secret is tried (no early exit) so timing does not tell which one matched.
  for (const secret of secrets)
    if (usableKey(secret)) ok = constantTimeEqual(hmacSha256(secret, body), candidate) || ok;
  return ok ? { ok: true } : fail("invalid_signature", "Typeform-Signature does not match the configured secret(s)");
}
