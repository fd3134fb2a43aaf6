// The shape every signature/token verifier returns. Codes are stable (they end up in
// the JSON error body); messages explain what was wrong without echoing secrets.
export const SIGNATURE_FAILURE_CODES = [
  "missing_signature",
  "invalid_signature",
  "timestamp_out_of_range",
  "missing_token",
  "invalid_token",
] as const;
export type SignatureFailureCode = (typeof SIGNATURE_FAILURE_CODES)[number];

export type SignatureResult = { ok: true } | { ok: false; code: SignatureFailureCode; message: string };

export function fail(
  code: SignatureFailureCode,
  message: string,
): { ok: false; code: SignatureFailureCode; message: string } {
  return { ok: false, code, message };
}
