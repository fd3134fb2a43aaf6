// Who a bearer token names. A token is one of:
// - a database token (hl_…, `ops/hookline tokens create`; the recommended kind: per person or
//   client, revocable, expiring, last use noted), looked up by the dashboard
//   (services/dashboard/token-lookup.ts);
// - a DASHBOARD_API_TOKENS entry ("token=role,…"; the dev default and earlier installs), kept
//   in memory as digests only;
// - with OIDC configured, a JWT from the identity provider (services/dashboard/oidc.ts).
// The dashboard accepts all three; the ingress and projector, which have no token table, only
// DASHBOARD_API_TOKENS entries, for /health/detailed (shared/http/health-auth.ts). What each
// route then needs: services/dashboard/access.ts.
import { createHash, timingSafeEqual } from "node:crypto";
import * as v from "valibot";
import { env } from "../config.ts";
import type { Logger } from "../logger.ts";
import { isRole, ROLES, type Role } from "./roles.ts";

/** The caller of a request, in its context as `principal` (the audit trail's actor). */
export interface Principal {
  /** token:<id> (database token), env:<n> (the nth DASHBOARD_API_TOKENS entry), oidc:<sub>. */
  id: string;
  /** The token's name, "DASHBOARD_API_TOKENS #n", or the OIDC user's name. */
  name: string;
  role: Role;
  /** The client a client-scoped database token is limited to (scope.ts); absent: every client. */
  clientId?: string | null;
}

/** Why a bearer credential was not accepted. */
export interface Refusal {
  status: 401 | 403 | 503;
  code: string;
  message: string;
}

/** A database token found by its digest (services/dashboard/tokens.ts), as far as authentication reads it. */
interface FoundToken {
  id: string;
  name: string;
  role: Role;
  clientId: string | null;
}

export const isRefusal = (r: Principal | Refusal): r is Refusal => "status" in r;

export const UNAUTHORIZED: Refusal = {
  status: 401,
  code: "unauthorized",
  message: "send Authorization: Bearer <token>",
};

/**
 * DASHBOARD_API_TOKENS: "token=role" pairs, comma-separated (no role: admin). Every pair needs
 * a token before its "=": an empty one would let "Authorization: Bearer " in.
 */
export const apiTokens = v.pipe(
  env.nonEmpty,
  v.check(
    (s) => s.split(",").every((pair) => !pair.includes("=") || pair.slice(0, pair.lastIndexOf("=")).trim() !== ""),
    "every token=role pair needs a token",
  ),
  // Checked here so a typo in a role is one more line of the start-up error, not a crash later.
  v.check(
    (s) =>
      s
        .split(",")
        .filter((pair) => pair.includes("="))
        .every((pair) => (ROLES as readonly string[]).includes(pair.slice(pair.lastIndexOf("=") + 1).trim())),
    `every role must be one of: ${ROLES.join(", ")}`,
  ),
);

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Parses "token=role,token2=role2" (no role: admin); tokens are kept only as digests. */
function parseTokens(spec: string): { digest: Buffer; principal: Principal }[] {
  return spec
    .split(",")
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair, i) => {
      const eq = pair.lastIndexOf("=");
      const token = eq < 0 ? pair : pair.slice(0, eq);
      const role = eq < 0 ? "admin" : pair.slice(eq + 1).trim();
      // The config's apiTokens schema has refused any other role already; this guards other callers.
      if (!isRole(role)) throw new Error("unknown role in DASHBOARD_API_TOKENS");
      // Named by position, not by anything derived from the token: an audit reader learns nothing of it.
      return { digest: digest(token), principal: { id: `env:${i + 1}`, name: `DASHBOARD_API_TOKENS #${i + 1}`, role } };
    });
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface AuthSources {
  /** DASHBOARD_API_TOKENS. */
  apiTokens: string;
  /** Database tokens (hl_…). */
  dbTokens?: (token: string) => Promise<FoundToken | null>;
  /** OIDC JWTs, when configured. */
  oidc?: (jwt: string) => Promise<Principal | Refusal>;
  log: Logger;
}

/** The caller an Authorization header names, or why not. */
export function createAuthenticator(sources: AuthSources): (header: string | null) => Promise<Principal | Refusal> {
  const envTokens = parseTokens(sources.apiTokens);
  return async (header) => {
    if (!header?.startsWith("Bearer ")) return UNAUTHORIZED;
    const token = header.slice(7).trim();
    if (!token) return UNAUTHORIZED;
    // Every entry compared, in constant time (digests have equal length).
    const presented = digest(token);
    let match: Principal | undefined;
    for (const t of envTokens) if (timingSafeEqual(presented, t.digest)) match = t.principal;
    if (match) return match;
    if (token.startsWith("hl_") && sources.dbTokens) {
      try {
        const found = await sources.dbTokens(token);
        return found
          ? { id: `token:${found.id}`, name: found.name, role: found.role, clientId: found.clientId }
          : UNAUTHORIZED;
      } catch (error) {
        sources.log.warn({ err: (error as Error).message }, "dashboard token lookup failed");
        return { status: 503, code: "auth_unavailable", message: "tokens cannot be checked right now; retry" };
      }
    }
    if (sources.oidc && JWT.test(token)) return sources.oidc(token);
    return UNAUTHORIZED;
  };
}
