// Who may read /health/detailed, on every service: a dashboard token whose role includes the
// route's rule in access.ts (admin), the same verification as the API's (auth.ts). The dashboard accepts all its kinds of token; the
// ingress and projector, which have no token table, only DASHBOARD_API_TOKENS entries, read
// from the same variable (optional there: unset, /health/detailed refuses every request).
import * as v from "valibot";
import type { ConfigEntry } from "../../shared/config.ts";
import { DEV_CREDENTIALS } from "../../shared/dev-credentials.ts";
import type { HealthAuthorizer } from "../../shared/http/health-detailed.ts";
import type { Logger } from "../../shared/logger.ts";
import { ruleFor } from "./access.ts";
import { createAuthenticator, type Principal, type Refusal } from "./auth.ts";
import { apiTokens } from "./config.ts";
import { hasRole } from "./roles.ts";

/** The role /health/detailed needs: its rule in access.ts (admin: the details name servers, versions, replication). */
const NEEDED = ruleFor("GET", "/health/detailed")!;

/** Callers whose role includes the rule's; 401 without a valid token, 403 below it. */
export function healthAuthorizer(
  authenticate: (header: string | null) => Promise<Principal | Refusal>,
): HealthAuthorizer {
  return async (header) => {
    const caller = await authenticate(header);
    if ("status" in caller) return caller;
    return hasRole(caller.role, NEEDED)
      ? "ok"
      : { status: 403, code: "forbidden", message: `this needs a token with the ${NEEDED} role` };
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
