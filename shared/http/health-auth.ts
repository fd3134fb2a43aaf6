// Who may read /health/detailed, on every service: a bearer token (shared/auth/bearer.ts) whose
// role includes HEALTH_DETAILED_ROLE. The dashboard accepts all its kinds of token; the ingress
// and projector, which have no token table, only DASHBOARD_API_TOKENS entries, read from the
// same variable (optional there: unset, /health/detailed refuses every request).
import * as v from "valibot";
import { apiTokens, createAuthenticator, isRefusal, type Principal, type Refusal } from "../auth/bearer.ts";
import { hasRole, type Role } from "../auth/roles.ts";
import type { ConfigEntry } from "../config.ts";
import { DEV_CREDENTIALS } from "../dev-credentials.ts";
import type { Logger } from "../logger.ts";
import type { HealthAuthorizer } from "./health-detailed.ts";

/**
 * The role /health/detailed needs (the dashboard's route table, services/dashboard/access.ts,
 * names this rule): servers, versions, lag and replication state help an attacker.
 */
export const HEALTH_DETAILED_ROLE: Role = "admin";

/** Callers whose role includes HEALTH_DETAILED_ROLE; 401 without a valid token, 403 below it. */
export function healthAuthorizer(
  authenticate: (header: string | null) => Promise<Principal | Refusal>,
): HealthAuthorizer {
  return async (header) => {
    const caller = await authenticate(header);
    if (isRefusal(caller)) return caller;
    // The installation's state is no client's: a client-scoped token is refused, as on every
    // route that is not scope-aware (services/dashboard/auth.ts).
    if (caller.clientId)
      return { status: 403, code: "scope_not_supported", message: "a client-scoped token cannot use this route" };
    return hasRole(caller.role, HEALTH_DETAILED_ROLE)
      ? "ok"
      : { status: 403, code: "forbidden", message: `this needs a token with the ${HEALTH_DETAILED_ROLE} role` };
  };
}

/** The ingress's and projector's check: DASHBOARD_API_TOKENS entries with the admin role. */
export function envTokensHealthAuthorizer(tokens: string, log: Logger): HealthAuthorizer {
  if (!tokens)
    return async () => ({
      status: 401,
      code: "unauthorized",
      message: "this service has no DASHBOARD_API_TOKENS: /health/detailed is closed",
    });
  return healthAuthorizer(createAuthenticator({ apiTokens: tokens, log }));
}

/** DASHBOARD_API_TOKENS for the ingress and projector: optional, the dev admin token with HOOKLINE_ENV=development. */
export const healthTokensConfig: ConfigEntry<string> = {
  name: "DASHBOARD_API_TOKENS",
  schema: v.union([v.literal(""), apiTokens]),
  default: "",
  devDefault: `${DEV_CREDENTIALS.dashboardAdminToken}=admin`,
  secret: true,
};
