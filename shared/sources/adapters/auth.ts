// Authentication by scheme, shared by the adapters. Each function looks only at the raw
// request and the configured secrets and returns an AuthResult; messages never echo a
// secret or the presented credential.
import { GITHUB_SIGNATURE_HEADER, verifyGithub } from "../../crypto/github.ts";
import { STANDARD_WEBHOOK_HEADERS, verifyStandardWebhook } from "../../crypto/standard-webhooks.ts";
import { verifyStripe } from "../../crypto/stripe.ts";
import { constantTimeStringEqual, parseBasicAuth, tokenMatches } from "../../crypto/token.ts";
import { TYPEFORM_SIGNATURE_HEADER, verifyTypeform } from "../../crypto/typeform.ts";
import type { AuthConfig, AuthResult, RawRequest } from "../types.ts";

/** Verifies a request under its source's auth scheme (any of them, the shared token included). */
export function authenticateSignature(req: RawRequest, auth: AuthConfig): AuthResult {
  switch (auth.scheme) {
    case "standard-webhooks": {
      const result = verifyStandardWebhook(
        {
          id: req.headers[STANDARD_WEBHOOK_HEADERS.id],
          timestamp: req.headers[STANDARD_WEBHOOK_HEADERS.timestamp],
          signature: req.headers[STANDARD_WEBHOOK_HEADERS.signature],
        },
        req.body,
        auth.secrets,
        req.now,
        auth.toleranceSeconds,
      );
      return result.ok ? { ok: true, eventId: result.id } : result;
    }
    case "github": {
      const result = verifyGithub(req.headers[GITHUB_SIGNATURE_HEADER], req.body, auth.secrets);
      return result.ok ? { ok: true } : result;
    }
    case "stripe": {
      const header = auth.header.toLowerCase();
      const result = verifyStripe(req.headers[header], req.body, auth.secrets, req.now, auth.toleranceSeconds, header);
      return result.ok ? { ok: true } : result;
    }
    case "typeform": {
      const result = verifyTypeform(req.headers[TYPEFORM_SIGNATURE_HEADER], req.body, auth.secrets);
      return result.ok ? { ok: true } : result;
    }
    case "token":
      return authenticateToken(req, auth);
  }
}

/**
 * Shared token: in the configured header, as `Authorization: Bearer <token>`, as the
 * password of HTTP Basic (the user must equal `basicUser` when that is set), or in the
 * query parameter `queryParam` when configured. Any presented credential that matches
 * any configured token (two during rotation) authenticates.
 */
export function authenticateToken(req: RawRequest, auth: Extract<AuthConfig, { scheme: "token" }>): AuthResult {
  const presented: string[] = [];
  const fromHeader = req.headers[auth.header.toLowerCase()];
  if (fromHeader) presented.push(fromHeader.trim());
  const authorization = req.headers.authorization;
  let basicUserWrong = false;
  const basic = parseBasicAuth(authorization);
  if (basic) {
    if (auth.basicUser !== undefined && !constantTimeStringEqual(basic.user, auth.basicUser)) basicUserWrong = true;
    else presented.push(basic.password);
  } else if (authorization && /^Bearer\s+/i.test(authorization))
    presented.push(authorization.replace(/^Bearer\s+/i, "").trim());
  if (auth.queryParam) {
    const fromQuery = req.query[auth.queryParam];
    if (fromQuery) presented.push(fromQuery);
  }
  if (presented.length === 0) {
    if (basicUserWrong)
      return { ok: false, code: "invalid_token", message: "HTTP Basic user name is not the configured one" };
    const where = [
      `header ${auth.header}`,
      "HTTP Basic password",
      ...(auth.queryParam ? [`query parameter ${auth.queryParam}`] : []),
    ];
    return { ok: false, code: "missing_token", message: `no token presented (expected in ${where.join(", or ")})` };
  }
  let ok = false;
  for (const candidate of presented) ok = tokenMatches(candidate, auth.tokens) || ok;
  return ok
    ? { ok: true }
    : { ok: false, code: "invalid_token", message: "the presented token does not match the configured token(s)" };
}
