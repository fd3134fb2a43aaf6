// What a configured secret must look like, per auth scheme. Checked once at start-up (the
// sources file), so a service never runs with a secret anybody could guess or reproduce.
// Problems say what is wrong, never the value.
import { decodeStandardSecret, STANDARD_SECRET_PREFIX } from "./standard-webhooks.ts";

export type SecretScheme = "standard-webhooks" | "typeform" | "github" | "stripe" | "token";

/**
 * Minimum length of a shared HMAC secret (Typeform, GitHub, Stripe style) or token. These
 * are chosen by people in the provider's settings page, so no format can be demanded, only
 * a floor: 16 characters of a random password are about 95 bits, out of reach of guessing
 * against a rate-limited endpoint; anything shorter is a word, not a secret. Not higher,
 * because the public dev secrets (`dev-heyflow-token`, 17; `dev-typeform-secret`, 19) must
 * pass (they are refused in production by value, see shared/dev-credentials.ts). Stripe's
 * own secrets (`whsec_` + 32 characters) are well above it.
 */
const MIN_SHARED_SECRET_CHARS = 16;

/**
 * Standard Webhooks: "The secret SHOULD be between 24 bytes (192 bits) and 64 bytes (512 bits)"
 * (spec, symmetric signatures).
 */
const STANDARD_SECRET_BYTES = { min: 24, max: 64 } as const;

/**
 * Printable ASCII without space: a token travels in a header, a URL query or an HTTP Basic
 * password; one with spaces or control characters could never be presented intact.
 */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/** Why `secret` is unusable for `scheme`, or undefined when it is fine. Never quotes the secret. */
export function secretProblem(scheme: SecretScheme, secret: string): string | undefined {
  if (secret.trim() === "") return "is empty";
  if (secret.trim() !== secret) return "has leading or trailing whitespace";
  if (scheme === "standard-webhooks") {
    if (!secret.startsWith(STANDARD_SECRET_PREFIX))
      return `must be ${STANDARD_SECRET_PREFIX}<base64> (Standard Webhooks)`;
    const key = decodeStandardSecret(secret);
    if (key.length === 0) {
      const encoding = `${STANDARD_SECRET_PREFIX} followed by padded standard base64`;
      return `must be ${encoding} (no whitespace, no URL-safe letters)`;
    }
    const { min, max } = STANDARD_SECRET_BYTES;
    if (key.length < min || key.length > max) {
      return `decodes to ${key.length} bytes; Standard Webhooks secrets are ${min} to ${max} bytes`;
    }
    return undefined;
  }
  if (secret.length < MIN_SHARED_SECRET_CHARS)
    return `is ${secret.length} characters; at least ${MIN_SHARED_SECRET_CHARS} are required`;
  if (scheme === "token" && !HEADER_SAFE.test(secret))
    return "must be printable ASCII without spaces (it is sent in a header, URL or HTTP Basic password)";
  return undefined;
}
