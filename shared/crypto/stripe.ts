// Stripe style: `<header>: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
// Several v1 entries may be present (the sender rotates keys); any one matching suffices.
// The timestamp is signed, so a tolerance window bounds replays.
import { constantTimeEqual, hmacSha256, usableKey } from "./hmac.ts";
import { fail, type SignatureResult } from "./result.ts";

export function signStripe(secret: string, timestamp: number, body: Uint8Array | string): string {
  return `t=${timestamp},v1=${stripeMac(secret, timestamp, body).toString("hex")}`;
}

function stripeMac(secret: string, timestamp: number | string, body: Uint8Array | string): Buffer {
  return hmacSha256(secret, `${timestamp}.`, body);
}

export function verifyStripe(
  header: string | undefined,
  body: Uint8Array,
  secrets: readonly string[],
  nowMs: number,
  toleranceSeconds = 300,
  headerName = "stripe-signature",
): SignatureResult {
  if (!header) return fail("missing_signature", `${headerName} header is required`);
  let timestamp: string | undefined;
  const candidates: Buffer[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t") timestamp = value;
    else if (key === "v1" && /^[0-9a-fA-F]{64}$/.test(value)) candidates.push(Buffer.from(value, "hex"));
  }
  if (!timestamp || !/^\d{1,12}$/.test(timestamp))
    return fail("invalid_signature", `${headerName} has no t=<unix seconds> element`);
  if (candidates.length === 0) return fail("invalid_signature", `${headerName} has no v1=<hex> signature`);
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) {
    return fail("timestamp_out_of_range", `${headerName} timestamp is more than ${toleranceSeconds}s from now`);
  }
  let ok = false;
  for (const secret of secrets) {
    if (!usableKey(secret)) continue;
    const expected = stripeMac(secret, timestamp, body);
    for (const candidate of candidates) ok = constantTimeEqual(expected, candidate) || ok;
  }
  return ok
    ? { ok: true }
    : fail("invalid_signature", `no v1 signature in ${headerName} matches the configured secret(s)`);
}
