// GitHub style: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`.
import { constantTimeEqual, hmacSha256, usableKey } from "./hmac.ts";
import { fail, type SignatureResult } from "./result.ts";

export const GITHUB_SIGNATURE_HEADER = "x-hub-signature-256";

export function signGithub(secret: string, body: Uint8Array | string): string {
  return `sha256=${hmacSha256(secret, body).toString("hex")}`;
}

export function verifyGithub(
  header: string | undefined,
  body: Uint8Array,
  secrets: readonly string[],
): SignatureResult {
  if (!header) return fail("missing_signature", "X-Hub-Signature-256 header is required");
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match) return fail("invalid_signature", "X-Hub-Signature-256 must look like sha256=<64 hex digits>");
  const candidate = Buffer.from(match[1]!, "hex");
  let ok = false;
  for (const secret of secrets)
    if (usableKey(secret)) ok = constantTimeEqual(hmacSha256(secret, body), candidate) || ok;
  return ok ? { ok: true } : fail("invalid_signature", "X-Hub-Signature-256 does not match the configured secret(s)");
}
