export { constantTimeEqual, hmacSha256 } from "./hmac.ts";
export { decodeStandardSecret, signStandardWebhook, verifyStandardWebhook, type StandardHeaders, type VerifyResult } from "./standard-webhooks.ts";
export { signTypeform, verifyTypeform, TYPEFORM_SIGNATURE_HEADER } from "./typeform.ts";
export { signGithub, verifyGithub, GITHUB_SIGNATURE_HEADER } from "./github.ts";
export { signStripe, verifyStripe } from "./stripe.ts";
export { basicAuthHeader, constantTimeStringEqual, parseBasicAuth, tokenMatches } from "./token.ts";
export type { SignatureFailureCode, SignatureResult } from "./result.ts";
export { MIN_SHARED_SECRET_CHARS, STANDARD_SECRET_BYTES, secretProblem, type SecretScheme } from "./secret-rules.ts";
