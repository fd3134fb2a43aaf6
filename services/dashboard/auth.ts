// Who may call the dashboard API: bearer tokens from DASHBOARD_API_TOKENS, each with a role.
// A viewer reads patients, forms and conflicts; an admin may also do what exposes more than
// patient records or changes something (routes guarded with requireRole("admin")).
import { createHash, timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import { errorResponse } from "../../shared/http/errors.ts";

export const ROLES = ["admin", "viewer"] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  role: Role;
}

/** What each role may do includes everything of the roles ranked below it. */
const RANK: Record<Role, number> = { viewer: 0, admin: 1 };

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Parses "token=role,token2=role2"; tokens are kept only as digests. */
function parseTokens(spec: string): { digest: Buffer; role: Role }[] {
  return spec
    .split(",")
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.lastIndexOf("=");
      const token = eq < 0 ? pair : pair.slice(0, eq);
      const role = (eq < 0 ? "admin" : pair.slice(eq + 1)) as Role;
      // readDashboardConfig has refused any other role already; this guards other callers.
      if (!ROLES.includes(role)) throw new Error("unknown role in DASHBOARD_API_TOKENS");
      return { digest: digest(token), role };
    });
}

/** Matches a bearer header against the tokens in constant time (digests have equal length). */
function authenticateBearer(header: string | null, tokens: { digest: Buffer; role: Role }[]): Principal | null {
  if (!header?.startsWith("Bearer ")) return null;
  const presented = digest(header.slice(7).trim());
  let match: Principal | null = null;
  for (const t of tokens) if (timingSafeEqual(presented, t.digest)) match = { role: t.role };
  return match;
}

/**
 * Use in the instance that holds the API routes: every route after it (plugins' too) needs a
 * valid token (else 401) and finds the caller as `principal` in its context.
 */
export function bearerAuth(spec: string) {
  const tokens = parseTokens(spec);
  return new Elysia()
    .resolve({ as: "scoped" }, ({ request }) => ({
      principal: authenticateBearer(request.headers.get("authorization"), tokens),
    }))
    .onBeforeHandle({ as: "scoped" }, ({ principal }) => {
      if (!principal)
        return errorResponse(401, "unauthorized", "send Authorization: Bearer <token>", {
          "www-authenticate": "Bearer",
        });
    });
}

/**
 * A route's beforeHandle: 403 unless the caller's role includes `role`. Works in any plugin
 * mounted behind bearerAuth; without a principal (mounted elsewhere by mistake) it refuses.
 */
export function requireRole(role: Role) {
  // `request` only so that any Elysia context fits the type, with or without `principal` in it.
  return ({ principal }: { request: Request; principal?: Principal | null }) => {
    if (!principal || RANK[principal.role] < RANK[role])
      return errorResponse(403, "forbidden", `this needs a token with the ${role} role`);
  };
}
