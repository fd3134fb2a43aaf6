// Optional single sign-on: a JWT from an OpenID Connect provider as the bearer token, verified
// with `jose` against the provider's JWKS (fetched, cached and refreshed on an unknown key id
// by createRemoteJWKSet). The issuer, audience, expiry and signature must all check out; the
// role comes from one claim (OIDC_ROLE_CLAIM, a dotted path such as realm_access.roles; a
// string or a list), optionally renamed by OIDC_ROLE_MAP; the highest role named wins, and a
// token naming none is refused (403).
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from "jose";
import type { Principal, Refusal } from "../../shared/auth/bearer.ts";
import { hasRole, isRole, type Role } from "../../shared/auth/roles.ts";

export interface OidcSettings {
  issuer: string;
  jwksUrl: string;
  audience: string;
  /** Dotted path of the claim holding the role(s). */
  roleClaim: string;
  /** Claim value → role; empty: the values are the role names themselves. */
  roleMap: Record<string, Role>;
  /** The page's sign-in at the provider (oidc-signin.ts), when OIDC_CLIENT_ID is set. */
  signIn?: OidcClientSettings;
}

/** A public client: the page holds no secret, PKCE stands in for one. */
interface OidcClientSettings {
  clientId: string;
  /** Space-separated, openid among them. */
  scopes: string;
  /** OIDC_REDIRECT_URI; null: the page's own address (its origin and `/`). */
  redirectUri: string | null;
  providerName: string;
}

// Asymmetric only: a JWKS holds public keys, and an HMAC algorithm would make one a shared secret.
const ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

/** Clock skew allowed between the provider and this pod when checking exp and nbf. */
const CLOCK_TOLERANCE_SECONDS = 30;

/** The claim named `path` (a namespaced name such as https://example.com/roles), else the dotted path's value. */
function claimAt(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let value: unknown = payload;
  for (const key of path.split(".")) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The highest role among the claim's values, after the map; null when it names none. */
export function roleFromClaim(value: unknown, roleMap: Record<string, Role>): Role | null {
  const values = Array.isArray(value) ? value : [value];
  const mapped = Object.keys(roleMap).length > 0;
  let best: Role | null = null;
  for (const v of values) {
    if (typeof v !== "string") continue;
    const role = mapped ? (Object.hasOwn(roleMap, v) ? roleMap[v] : undefined) : isRole(v) ? v : undefined;
    if (role && (!best || hasRole(role, best))) best = role;
  }
  return best;
}

const refusal = (status: Refusal["status"], code: string, message: string): Refusal => ({ status, code, message });

/** Verifies a JWT and maps it to a principal (id oidc:<sub>), or says why not. */
export function createOidcVerifier(settings: OidcSettings): (jwt: string) => Promise<Principal | Refusal> {
  const jwks = createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 5_000 });
  return async (jwt) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, jwks, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        // A token without an expiry would never stop working.
        requiredClaims: ["sub", "exp"],
      }));
    } catch (error) {
      // The provider's keys could not be fetched: not the caller's fault, worth a retry.
      if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError) || isFetchFailure(error))
        return refusal(503, "auth_unavailable", "the identity provider's keys could not be fetched; retry");
      // jose's reason names the failed check ("exp" claim timestamp check failed, ...), never a key.
      return refusal(401, "unauthorized", `the token was not accepted: ${error.message}`);
    }
    const role = roleFromClaim(claimAt(payload, settings.roleClaim), settings.roleMap);
    if (!role) return refusal(403, "forbidden", `the token's ${settings.roleClaim} claim names no hookline role`);
    const name = [payload.preferred_username, payload.email, payload.sub].find((v) => typeof v === "string");
    return { id: `oidc:${payload.sub}`, name: name as string, role };
  };
}

/** jose reports a JWKS answer that was not 200 JSON as a generic JOSEError. */
const isFetchFailure = (error: errors.JOSEError) =>
  error.code === "ERR_JOSE_GENERIC" && error.message.includes("JSON Web Key Set HTTP response");
