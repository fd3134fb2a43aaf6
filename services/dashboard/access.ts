// Which role each dashboard API route needs: the one table the guard (auth.ts), the OpenAPI
// document and the role test read. A route the API registers without a rule here fails the
// app's construction (assertEveryRouteHasRule), so a new route cannot ship unguarded; a request
// that still reaches one is refused (fail closed).
//
// viewer: reads. Patient data in lists is masked for viewers (masking.ts); opening one patient
// shows it whole, and that read is audited.
// editor: also changes patient data (resolving identity conflicts).
// admin: also whatever exposes more than patient records or concerns the installation: every
// webhook's raw canonical payload (events) and the source preview, which runs a source's parser
// on any input and shows how the source is set up. Tokens are managed by `ops/hookline tokens`.
import type { Role } from "../../shared/auth/roles.ts";
import { HEALTH_DETAILED_ROLE } from "../../shared/http/health-auth.ts";

export const ROUTE_ROLES = {
  "GET /api/v1/patients": "viewer",
  "POST /api/v1/patients/search": "viewer",
  "GET /api/v1/patients/:id": "viewer",
  // Adding, editing and merging patients by hand (patient-routes.ts): audited changes.
  "POST /api/v1/patients": "editor",
  "PATCH /api/v1/patients/:id": "editor",
  "POST /api/v1/patients/:id/merge": "editor",
  // Erasure (right to be forgotten): irreversible, so admin.
  "DELETE /api/v1/patients/:id": "admin",
  "GET /api/v1/patients/:id/conflicts": "viewer",
  "GET /api/v1/conflicts": "viewer",
  "POST /api/v1/conflicts/:id/resolve": "editor",
  "GET /api/v1/forms": "viewer",
  "GET /api/v1/forms/:source/:formId/questions": "viewer",
  "GET /api/v1/forms/:source/:formId/submissions": "viewer",
  "GET /api/v1/events": "admin",
  "POST /v1/sources/:source/preview": "admin",
  // Field-mapping corrections (mappings.ts): reading a form's mapping and its review (labels,
  // suggestions, no answers) is a read; saving changes how patients are recorded, and the
  // preview shows patient values mapped both ways: editor.
  "GET /api/v1/forms/:source/:formId/mappings": "viewer",
  "PUT /api/v1/forms/:source/:formId/mappings": "editor",
  "POST /api/v1/forms/:source/:formId/mappings/preview": "editor",
  "GET /api/v1/forms/:source/:formId/review": "viewer",
  // Counts only, no patient data; a client-scoped token sees its own sources' (stats.ts).
  "GET /api/v1/stats": "viewer",
  // Dead letters hold whole webhooks' metadata, and a replay puts one back into the pipeline.
  "GET /api/v1/dead-letters": "admin",
  "POST /api/v1/dead-letters/:seq/replay": "admin",
  // Clients and runtime sources (clients.ts): listed to viewers (their client only, when scoped);
  // creating, rotating a secret, disabling and enabling: admin, and unscoped.
  "GET /api/v1/clients": "viewer",
  "POST /api/v1/clients": "admin",
  "POST /api/v1/clients/:id/sources": "admin",
  "GET /api/v1/sources": "viewer",
  "POST /api/v1/sources/:name/rotate-secret": "admin",
  "POST /api/v1/sources/:name/disable": "admin",
  "POST /api/v1/sources/:name/enable": "admin",
  // Who the token belongs to and its role (oidc-signin.ts): the page's header, any role.
  "GET /api/v1/auth/me": "viewer",
  // Outside the API, guarded by its own check (shared/http/health-auth.ts), which the ingress
  // and projector use too.
  "GET /health/detailed": HEALTH_DETAILED_ROLE,
} as const satisfies Record<string, Role>;

/**
 * The routes a client-scoped token may call: those whose queries run under its scope
 * (scope.ts), so Postgres's row-level security keeps it to its client's rows. Any other route
 * refuses such a token (403 scope_not_supported) until it is made scope-aware: fail closed.
 */
const SCOPED_ROUTES: ReadonlySet<string> = new Set([
  "GET /api/v1/patients",
  "POST /api/v1/patients/search",
  "GET /api/v1/patients/:id",
  "DELETE /api/v1/patients/:id",
  "POST /api/v1/patients",
  "PATCH /api/v1/patients/:id",
  "POST /api/v1/patients/:id/merge",
  "GET /api/v1/stats",
  "GET /api/v1/clients",
  "GET /api/v1/sources",
  "GET /api/v1/conflicts",
  "GET /api/v1/patients/:id/conflicts",
  "POST /api/v1/conflicts/:id/resolve",
  "GET /api/v1/auth/me",
]);

/** Whether a client-scoped token may call `route` (as registered). */
export function allowsScoped(method: string, route: string): boolean {
  return SCOPED_ROUTES.has(`${method === "HEAD" ? "GET" : method} ${route}`);
}

/** The role a request to `route` (as registered, e.g. /api/v1/patients/:id) needs; undefined: no rule. */
export function ruleFor(method: string, route: string): Role | undefined {
  // HEAD is answered by a GET route.
  const key = `${method === "HEAD" ? "GET" : method} ${route}`;
  return Object.hasOwn(ROUTE_ROLES, key) ? ROUTE_ROLES[key as keyof typeof ROUTE_ROLES] : undefined;
}

/** Throws (code route_without_rule) naming every route of the API that has no rule in ROUTE_ROLES. */
export function assertEveryRouteHasRule(routes: readonly { method: string; path: string }[]): void {
  const missing = routes.filter((r) => !ruleFor(r.method, r.path)).map((r) => `${r.method} ${r.path}`);
  if (missing.length)
    throw Object.assign(new Error(`dashboard API routes without a role in ROUTE_ROLES: ${missing.join(", ")}`), {
      code: "route_without_rule",
    });
}
