// Who may call the dashboard API. A bearer token is one of:
// - a database token (hl_…, `ops/hookline tokens create`; the recommended kind: per person or
//   client, revocable, expiring, last use noted), looked up through token-lookup.ts;
// - a DASHBOARD_API_TOKENS entry ("token=role,…"; the dev default and earlier installs), kept
//   in memory as digests only;
// - with OIDC configured, a JWT from the identity provider (oidc.ts).
// Every API route then needs the role its rule names (access.ts): 401 without a valid token,
// 403 with a role below it.
import { createHash, timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import { errorResponse } from "../../shared/http/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import { allowsScoped, ruleFor } from "./access.ts";
import { hasRole, isRole, type Role } from "./roles.ts";
import type { ActiveToken } from "./tokens.ts";

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

const isRefusal = (r: Principal | Refusal): r is Refusal => "status" in r;

const UNAUTHORIZED: Refusal = { status: 401, code: "unauthorized", message: "send Authorization: Bearer <token>" };

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
      // readDashboardConfig has refused any other role already; this guards other callers.
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
  dbTokens?: (token: string) => Promise<ActiveToken | null>;
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

function refused(r: Refusal): Response {
  const headers: Record<string, string> = r.status === 401 ? { "www-authenticate": "Bearer" } : {};
  if (r.status === 503) headers["retry-after"] = "1";
  return errorResponse(r.status, r.code, r.message, headers);
}

/**
 * Use in the instance that holds the API routes: every route after it (plugins' too) needs a
 * valid token (else 401) whose role includes the route's rule in access.ts (else 403), and
 * finds the caller as `principal` in its context.
 */
export function bearerAuth(authenticate: (header: string | null) => Promise<Principal | Refusal>) {
  return new Elysia()
    .resolve({ as: "scoped" }, async ({ request }) => {
      const result = await authenticate(request.headers.get("authorization"));
      return isRefusal(result) ? { principal: null, refusal: result } : { principal: result, refusal: null };
    })
    .onBeforeHandle({ as: "scoped" }, ({ principal, refusal, request, route }) => {
      if (!principal) return refused(refusal ?? UNAUTHORIZED);
      const needed = ruleFor(request.method, route);
      // Unreachable while assertEveryRouteHasRule guards the app's construction; refused if not.
      if (!needed) return errorResponse(403, "forbidden", "this route has no access rule");
      if (!hasRole(principal.role, needed))
        return errorResponse(403, "forbidden", `this needs a token with the ${needed} role`);
      if (principal.clientId && !allowsScoped(request.method, route))
        return errorResponse(403, "scope_not_supported", "a client-scoped token cannot use this route");
    });
}
