// Dashboard API: bearer-authenticated reads over Postgres, cache-aside through Redis
// for single patients, and the source preview used to set up mappings. Every API route needs
// the role its rule in access.ts names; viewers see patient data masked in lists.
import type { Tracer } from "@opentelemetry/api";
import { Elysia } from "elysia";
import type { Sql } from "postgres";
import * as v from "valibot";
import { createAuthenticator } from "../../shared/auth/bearer.ts";
import type { Redis } from "../../shared/cache.ts";
import { keyAges } from "../../shared/crypto/key-age.ts";
import type { Keys } from "../../shared/crypto/keys.ts";
import { readFormMapping } from "../../shared/db/field-mappings.ts";
import { findMappableSource } from "../../shared/db/sources.ts";
import type { HealthCheck } from "../../shared/health/checks.ts";
import { compressAnswers } from "../../shared/http/compression.ts";
import { errorResponse, json } from "../../shared/http/errors.ts";
import { healthRoutes, type ReadinessCheck } from "../../shared/http/health.ts";
import { healthAuthorizer } from "../../shared/http/health-auth.ts";
import { detailedHealthRoute } from "../../shared/http/health-detailed.ts";
import { jsonErrors } from "../../shared/http/json-errors.ts";
import { requestMetrics } from "../../shared/http/request-metrics.ts";
import { securityHeaders } from "../../shared/http/security-headers.ts";
import { serverSpans } from "../../shared/http/server-spans.ts";
import type { Logger } from "../../shared/logger.ts";
import { counterOf, METRICS, type Metrics, metricsRoute } from "../../shared/metrics.ts";
import { createPatientCache } from "../../shared/patient-cache.ts";
import { withCorrections } from "../../shared/sources/corrections.ts";
import { AdapterError, getAdapter, type RawRequest, type SourceConfig } from "../../shared/sources/index.ts";
import { assertEveryRouteHasRule } from "./access.ts";
import { bearerAuth } from "./auth.ts";
import { type ClientRoutesDeps, clientRoutes } from "./clients.ts";
import { conflictRoutes } from "./conflicts.ts";
import { deadLetterRoutes } from "./dead-letters.ts";
import { listEvents } from "./events.ts";
import { formQuestions, formSubmissions, listForms } from "./forms.ts";
import { mappingRoutes } from "./mappings.ts";
import { maskSubmission } from "./masking.ts";
import type { NatsLink } from "./nats-link.ts";
import { createOidcVerifier, type OidcSettings } from "./oidc.ts";
import { authConfigRoute, pageOidcConfig, whoAmIRoute } from "./oidc-signin.ts";
import { docsPage, openApiDocument, type RegisteredRoute } from "./openapi.ts";
import { dashboardPage } from "./page.ts";
import { keysetPage, PAGE_QUERY } from "./paging.ts";
import { patientRoutes } from "./patient-routes.ts";
import type { PatientDto } from "./patients.ts";
import { routeDoc } from "./route-doc.ts";
import { statsRoutes } from "./stats.ts";
import { createTokenLookup } from "./token-lookup.ts";
import { findToken, touchToken } from "./tokens.ts";

export interface DashboardDeps {
  sql: Sql;
  /** Open (and for the cache, seal) patient data; look up email and phone by blind index. */
  keys: Keys;
  redis: Redis;
  sources: Map<string, SourceConfig>;
  /** DASHBOARD_API_TOKENS; database tokens and OIDC are checked as well (shared/auth/bearer.ts). */
  apiTokens: string;
  oidc?: OidcSettings;
  cacheTtlSeconds: number;
  log: Logger;
  metrics: Metrics;
  /** False when /metrics is served on a port of its own (metricsApp, METRICS_PORT). */
  serveMetrics?: boolean;
  readiness: Record<string, ReadinessCheck>;
  /** What /health/detailed reports (shared/health/service-checks.ts). */
  healthChecks?: Record<string, HealthCheck>;
  isDraining?: () => boolean;
  /** Set only when tracing is enabled: a SERVER span a request, its queries as children. */
  tracer?: Tracer;
  /** NATS, opened on first use: dead letters and their counts, erasure's stream sweep (nats-link.ts). */
  nats?: NatsLink;
  /** The runtime sources' registry and public webhook URL (clients.ts). */
  clients?: Pick<ClientRoutesDeps, "registry" | "webhookBaseUrl" | "errorsLast24h">;
}

// The shapes of the cursors this API hands out; anything else is a 400, not a failed query.
const iso = v.pipe(v.string(), v.isoTimestamp());
const EventCursor = v.object({
  receivedAt: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(8.64e15)),
  eventId: v.string(),
});
const SubmissionCursor = v.object({ submittedAt: iso, eventId: v.string() });

export function createDashboardApp(deps: DashboardDeps) {
  const { sql, keys, redis, log } = deps;
  const cacheHits = counterOf(deps.metrics.meter, METRICS.cacheHits);
  const cacheMisses = counterOf(deps.metrics.meter, METRICS.cacheMisses);
  const cacheErrors = counterOf(deps.metrics.meter, METRICS.cacheErrors);

  const patientCache = createPatientCache<PatientDto>(redis, { ttlSeconds: deps.cacheTtlSeconds, keys: keys.data });

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

  const api = new Elysia()
    .use(bearerAuth(authenticate))
    .use(whoAmIRoute())
    .use(
      patientRoutes({
        sql,
        keys,
        redis,
        cacheTtlSeconds: deps.cacheTtlSeconds,
        log,
        cacheMetrics: { hit: () => cacheHits.add(1), miss: () => cacheMisses.add(1), error: () => cacheErrors.add(1) },
        nats: deps.nats,
        sources: deps.sources,
      }),
    )
    .use(conflictRoutes({ sql, keys, patientCache, log }))
    .use(mappingRoutes({ sql, keys, sources: deps.sources, log }))
    .use(statsRoutes({ sql, redis, nats: deps.nats, log }))
    .use(deadLetterRoutes({ sql, nats: deps.nats, log }))
    .use(clientRoutes({ sql, keyring: keys.data, fileSources: deps.sources, log, ...deps.clients }))
    // Admin only (access.ts): every webhook's metadata and, on request, its whole canonical payload.
    .get(
      "/api/v1/events",
      ({ query }) =>
        keysetPage(
          EventCursor,
          query,
          (limit, before) =>
            listEvents(sql, keys, {
              source: query.source,
              limit,
              before,
              withCanonical: query.include === "canonical",
            }),
          (last) => ({ receivedAt: Date.parse(last.receivedAt), eventId: last.eventId }),
        ),
      routeDoc({
        summary: "Received webhook events, newest first (with include=canonical: each one's canonical payload)",
        query: v.object({
          source: v.optional(v.string()),
          include: v.optional(v.pipe(v.string(), v.description("canonical: with each event's canonical payload"))),
          ...PAGE_QUERY,
        }),
        responses: { 200: "a page of events", 400: "bad limit or cursor" },
      }),
    )
    .get(
      "/api/v1/forms",
      async () => json({ items: await listForms(sql) }),
      routeDoc({ summary: "Forms seen, with submission counts", responses: { 200: "the forms" } }),
    )
    .get(
      "/api/v1/forms/:source/:formId/questions",
      async ({ params }) => {
        const items = await formQuestions(sql, params.source, params.formId);
        return items.length
          ? json({ items })
          : errorResponse(404, "form_not_found", `no form ${params.formId} from ${params.source}`);
      },
      routeDoc({
        summary: "A form's questions (labels as its submissions named them)",
        params: v.object({ source: v.string(), formId: v.string() }),
        responses: { 200: "the questions", 404: "no submission of this form is stored" },
      }),
    )
    .get(
      "/api/v1/forms/:source/:formId/submissions",
      ({ params, query, principal }) =>
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
      routeDoc({
        summary: "A form's answers, newest submission first: all of them or one question's (masked for viewers)",
        params: v.object({ source: v.string(), formId: v.string() }),
        query: v.object({ question: v.optional(v.string()), ...PAGE_QUERY }),
        responses: { 200: "a page of submissions", 400: "bad limit or cursor" },
      }),
    )
    .post(
      "/v1/sources/:source/preview",
      async ({ request, params }) => {
        const source = await findMappableSource(sql, deps.sources, params.source);
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
          let event = adapter.parse(raw, source);
          // Mapped as the projector maps it: with the operators' saved corrections of its form.
          const saved = event.formId === null ? null : await readFormMapping(sql, source.id, event.formId);
          if (saved) event = adapter.parse(raw, withCorrections(source, new Map([[saved.formId, saved.fields]])));
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
      {
        parse: "none",
        ...routeDoc({
          summary:
            "Parse a sample webhook body (sent as the provider sends it, any content type) as the source would, nothing stored",
          params: v.object({ source: v.string() }),
          responses: {
            200: "the canonical event, and whether the sample's signature or token verified",
            400: "the body cannot be parsed",
            404: "unknown source",
          },
        }),
      },
    );
  // A route without a rule is a start-up failure, not an unguarded route.
  assertEveryRouteHasRule(api.routes);

  // The page's OIDC sign-in settings (null without OIDC_CLIENT_ID); its CSP allows their token endpoint.
  const oidcPage = pageOidcConfig(deps.oidc, log);
  let routes: readonly RegisteredRoute[] = [];
  let document: Record<string, unknown> | undefined;
  const apiDocument = () => {
    document ??= openApiDocument(routes);
    return document;
  };
  const app = new Elysia()
    // Large answers (a page of patients) gzipped: sent in one piece by Bun (compression.ts).
    .use(compressAnswers())
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
    .use(dashboardPage(oidcPage))
    .use(authConfigRoute(oidcPage))
    // Generated on first request from every registered route (openapi.ts).
    .get("/openapi.json", () => json(apiDocument()))
    .get(
      "/docs",
      () => new Response(docsPage(apiDocument()), { headers: { "content-type": "text/html; charset=utf-8" } }),
    )
    .use(deps.serveMetrics === false ? new Elysia({ name: "metrics-elsewhere" }) : metricsRoute(deps.metrics))
    .use(api);
  routes = app.routes;
  return app;
}
