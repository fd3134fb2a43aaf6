// Dashboard API: bearer-authenticated reads over Postgres, cache-aside through Redis
// for single patients, and the source preview used to set up mappings. Every API route needs
// the role its rule in access.ts names; viewers see patient data masked in lists.
import type { Tracer } from "@opentelemetry/api";
import { Elysia } from "elysia";
import type { Sql } from "postgres";
import * as v from "valibot";
import { recordAudit } from "../../shared/audit/writer.ts";
import type { Redis } from "../../shared/cache.ts";
import { keyAges } from "../../shared/crypto/key-age.ts";
import type { Keys } from "../../shared/crypto/keys.ts";
import { erasePatient } from "../../shared/db/erase.ts";
import type { HealthCheck } from "../../shared/health/checks.ts";
import { errorResponse, json } from "../../shared/http/errors.ts";
import { healthRoutes, type ReadinessCheck } from "../../shared/http/health.ts";
import { detailedHealthRoute } from "../../shared/http/health-detailed.ts";
import { jsonErrors } from "../../shared/http/json-errors.ts";
import { requestMetrics } from "../../shared/http/request-metrics.ts";
import { securityHeaders } from "../../shared/http/security-headers.ts";
import { serverSpans } from "../../shared/http/server-spans.ts";
import type { Logger } from "../../shared/logger.ts";
import { counterOf, METRICS, type Metrics, metricsRoute } from "../../shared/metrics.ts";
import { createPatientCache } from "../../shared/patient-cache.ts";
import { AdapterError, getAdapter, type RawRequest, type SourceConfig } from "../../shared/sources/index.ts";
import { assertEveryRouteHasRule } from "./access.ts";
import { patientErasure, patientRead } from "./audit.ts";
import { bearerAuth, createAuthenticator } from "./auth.ts";
import { type ClientRoutesDeps, clientRoutes } from "./clients.ts";
import { conflictRoutes } from "./conflicts.ts";
import { deadLetterRoutes } from "./dead-letters.ts";
import { listEvents } from "./events.ts";
import { formQuestions, formSubmissions, listForms } from "./forms.ts";
import { healthAuthorizer } from "./health-auth.ts";
import { listedFor, maskSubmission } from "./masking.ts";
import type { NatsLink } from "./nats-link.ts";
import { createOidcVerifier, type OidcSettings } from "./oidc.ts";
import { openApiDocument } from "./openapi.ts";
import { dashboardPage } from "./page.ts";
import { keysetPage } from "./paging.ts";
import { findPatients, getPatient, type PatientDto } from "./patients.ts";
import type { Role } from "./roles.ts";
import { isScoped, type Scope, withScope } from "./scope.ts";
import { statsRoutes } from "./stats.ts";
import { createTokenLookup } from "./token-lookup.ts";
import { findToken, touchToken } from "./tokens.ts";

export interface DashboardDeps {
  sql: Sql;
  /** Open (and for the cache, seal) patient data; look up email and phone by blind index. */
  keys: Keys;
  redis: Redis;
  sources: Map<string, SourceConfig>;
  /** DASHBOARD_API_TOKENS; database tokens and OIDC are checked as well (auth.ts). */
  apiTokens: string;
  oidc?: OidcSettings;
  cacheTtlSeconds: number;
  log: Logger;
  metrics: Metrics;
  readiness: Record<string, ReadinessCheck>;
  /** What /health/detailed reports (shared/health/service-checks.ts). */
  healthChecks?: Record<string, HealthCheck>;
  isDraining?: () => boolean;
  /** Set only when tracing is enabled: a SERVER span a request, its queries as children. */
  tracer?: Tracer;
  /** NATS, opened on first use: dead letters and their counts (nats-link.ts). */
  nats?: NatsLink;
  /** The runtime sources' registry and public webhook URL (clients.ts). */
  clients?: Pick<ClientRoutesDeps, "registry" | "webhookBaseUrl" | "errorsLast24h">;
}

// The shapes of the cursors this API hands out; anything else is a 400, not a failed query.
const iso = v.pipe(v.string(), v.isoTimestamp());
const PatientCursor = v.object({ id: v.pipe(v.string(), v.regex(/^\d{1,18}$/)) });
const EventCursor = v.object({
  receivedAt: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(8.64e15)),
  eventId: v.string(),
});
const SubmissionCursor = v.object({ submittedAt: iso, eventId: v.string() });
/** POST /api/v1/patients/search: the search in the body, out of URLs and access logs. */
const SearchBody = v.object({
  q: v.optional(v.pipe(v.string(), v.maxLength(1000))),
  source: v.optional(v.string()),
  limit: v.optional(v.union([v.pipe(v.number(), v.integer()), v.string()])),
  cursor: v.optional(v.string()),
});

export function createDashboardApp(deps: DashboardDeps) {
  const { sql, keys, redis, log } = deps;
  const cacheHits = counterOf(deps.metrics.meter, METRICS.cacheHits);
  const cacheMisses = counterOf(deps.metrics.meter, METRICS.cacheMisses);
  const cacheErrors = counterOf(deps.metrics.meter, METRICS.cacheErrors);

  const patientCache = createPatientCache<PatientDto>(redis, { ttlSeconds: deps.cacheTtlSeconds, keys: keys.data });

  /** Cache-aside through the patient cache's protocol (shared/patient-cache.ts). */
  async function cachedPatient(id: string): Promise<PatientDto | null> {
    let generation: string | undefined;
    try {
      const lookup = await patientCache.get(id);
      (lookup.hit ? cacheHits : cacheMisses).add(1);
      if (lookup.hit) return lookup.value;
      generation = lookup.generation;
    } catch (error) {
      cacheErrors.add(1);
      log.warn({ err: (error as Error).message }, "cache read failed; using database");
    }
    const patient = await getPatient(sql, keys, id);
    // Without the generation read before the database read, storing could cache a stale row.
    if (patient && generation !== undefined) patientCache.put(id, generation, patient).catch(() => {});
    return patient;
  }

  const authenticate = createAuthenticator({
    apiTokens: deps.apiTokens,
    dbTokens: createTokenLookup({
      find: (digest) => findToken(sql, digest),
      touch: (id) => touchToken(sql, id),
      log,
    }),
    oidc: deps.oidc && createOidcVerifier(deps.oidc),
    log,
  });

  /** A page of the patient search, as the caller may see it (its role's masking, its client's rows). */
  const patientPage = (
    { role, clientId }: { role: Role } & Scope,
    search: { q?: string; source?: string; limit?: string; cursor?: string },
  ): Promise<Response> =>
    keysetPage(
      PatientCursor,
      search,
      async (limit, after) =>
        listedFor(
          role,
          await withScope(sql, { clientId }, (tx) =>
            findPatients(tx, keys, { q: search.q, source: search.source, limit, beforeId: after?.id }),
          ),
        ),
      (last) => ({ id: last.id }),
    );

  const api = new Elysia()
    .use(bearerAuth(authenticate))
    // Kept for existing clients; a search term here ends up in URLs and access logs of any
    // proxy on the way, so the page and new clients use POST …/search.
    .get("/api/v1/patients", ({ query, principal }) => patientPage(principal!, query))
    .post("/api/v1/patients/search", ({ body, principal }) => {
      const parsed = v.safeParse(SearchBody, body);
      if (!parsed.success || Array.isArray(body))
        return errorResponse(400, "invalid_request", "send a JSON object with optional q, source, limit and cursor");
      const { limit, ...search } = parsed.output;
      return patientPage(principal!, { ...search, limit: limit === undefined ? undefined : String(limit) });
    })
    .get("/api/v1/patients/:id", async ({ params, principal }) => {
      if (!/^\d{1,18}$/.test(params.id)) return errorResponse(400, "invalid_id", "patient id must be a number");
      // A client-scoped caller reads through its scope (row-level security), never the shared cache.
      const patient = isScoped(principal!)
        ? await withScope(sql, principal!, (tx) => getPatient(tx, keys, params.id))
        : await cachedPatient(params.id);
      if (!patient) return errorResponse(404, "patient_not_found", `no patient ${params.id}`);
      // Served only once the read is in the audit trail (a cache hit too).
      await sql.begin((tx) => recordAudit(tx, patientRead(principal!, patient.id)));
      return json(patient);
    })
    // Admin only (access.ts): erasure (shared/db/erase.ts), audited without the erased data.
    .delete("/api/v1/patients/:id", async ({ params, principal }) => {
      if (!/^\d{1,18}$/.test(params.id)) return errorResponse(400, "invalid_id", "patient id must be a number");
      // Another client's patient does not exist for a client-scoped admin.
      const visible = await withScope(
        sql,
        principal!,
        (tx) => tx`select 1 from patients where id = ${params.id}::bigint`,
      );
      if (visible.length === 0) return errorResponse(404, "patient_not_found", `no patient ${params.id}`);
      const erased = await erasePatient(sql, params.id, patientErasure(principal!));
      if (!erased) return errorResponse(404, "patient_not_found", `no patient ${params.id}`);
      // After the commit, so a reader cannot cache the row again.
      await patientCache
        .invalidate([params.id])
        .catch((error) => log.warn({ err: (error as Error).message }, "cache invalidation failed"));
      const { events, ...rows } = erased;
      return json({ erased: { id: params.id, ...rows } });
    })
    .use(conflictRoutes({ sql, keys, patientCache, log }))
    .use(statsRoutes({ sql, redis, nats: deps.nats, log }))
    .use(deadLetterRoutes({ sql, nats: deps.nats, log }))
    .use(clientRoutes({ sql, keyring: keys.data, fileSources: deps.sources, log, ...deps.clients }))
    // Admin only (access.ts): every webhook's metadata and, on request, its whole canonical payload.
    .get("/api/v1/events", ({ query }) =>
      keysetPage(
        EventCursor,
        query,
        (limit, before) =>
          listEvents(sql, keys, { source: query.source, limit, before, withCanonical: query.include === "canonical" }),
        (last) => ({ receivedAt: Date.parse(last.receivedAt), eventId: last.eventId }),
      ),
    )
    .get("/api/v1/forms", async () => json({ items: await listForms(sql) }))
    .get("/api/v1/forms/:source/:formId/questions", async ({ params }) => {
      const items = await formQuestions(sql, params.source, params.formId);
      return items.length
        ? json({ items })
        : errorResponse(404, "form_not_found", `no form ${params.formId} from ${params.source}`);
    })
    .get("/api/v1/forms/:source/:formId/submissions", ({ params, query, principal }) =>
      keysetPage(
        SubmissionCursor,
        query,
        async (limit, before) => {
          const rows = await formSubmissions(sql, keys, {
            source: params.source,
            formId: params.formId,
            question: query.question,
            limit,
            before,
          });
          return principal!.role === "viewer" ? rows.map(maskSubmission) : rows;
        },
        (last) => ({ submittedAt: last.submittedAt, eventId: last.eventId }),
      ),
    )
    .post(
      "/v1/sources/:source/preview",
      async ({ request, params }) => {
        const source = deps.sources.get(params.source);
        if (!source) return errorResponse(404, "unknown_source", `no source "${params.source}" is configured`);
        const headers: Record<string, string> = {};
        request.headers.forEach((value, key) => {
          if (key !== "authorization") headers[key] = value;
        });
        const url = new URL(request.url);
        const raw: RawRequest = {
          method: "POST",
          headers,
          query: Object.fromEntries(url.searchParams),
          body: new Uint8Array(await request.arrayBuffer()),
          now: Date.now(),
        };
        const adapter = getAdapter(source.adapter);
        // Samples pasted by an operator rarely carry a signature: report, do not require.
        const auth = adapter.authenticate(raw, source);
        try {
          const event = adapter.parse(raw, source);
          return json({
            event,
            authentication: auth.ok ? { ok: true } : { ok: false, code: auth.code, message: auth.message },
          });
        } catch (error) {
          if (error instanceof AdapterError) return errorResponse(400, error.code, error.message);
          // JSON.parse takes 100,000 nested arrays; writing them back out overflows the stack.
          if (error instanceof RangeError)
            return errorResponse(400, "unparseable_body", "the body nests too deeply to preview");
          throw error;
        }
      },
      // Admin only (access.ts): it runs the parser on whatever is sent and shows how a source is set up.
      { parse: "none" },
    );
  // A route without a rule is a start-up failure, not an unguarded route.
  assertEveryRouteHasRule(api.routes);

  return new Elysia()
    .use(requestMetrics(deps.metrics, METRICS.dashboardRequestDuration))
    .use(serverSpans(deps.tracer))
    .use(securityHeaders())
    .use(jsonErrors(log))
    .use(
      detailedHealthRoute({
        service: "dashboard",
        checks: deps.healthChecks ?? {},
        authorize: healthAuthorizer(authenticate),
      }),
    )
    .use(healthRoutes(deps.readiness, deps.isDraining, () => ({ keys: keyAges(keys) })))
    .use(dashboardPage())
    .get("/openapi.json", () => json(openApiDocument))
    .use(metricsRoute(deps.metrics))
    .use(api);
}
