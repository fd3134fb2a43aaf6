// The dashboard API's guard: every route needs a bearer token (shared/auth/bearer.ts: a
// database token, a DASHBOARD_API_TOKENS entry, or with OIDC configured a JWT) whose role
// includes the route's rule in access.ts: 401 without a valid token, 403 with a role below it.
import { Elysia } from "elysia";
import { isRefusal, type Principal, type Refusal, UNAUTHORIZED } from "../../shared/auth/bearer.ts";
import { hasRole } from "../../shared/auth/roles.ts";
import { errorResponse } from "../../shared/http/errors.ts";
import { allowsScoped, ruleFor } from "./access.ts";

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
