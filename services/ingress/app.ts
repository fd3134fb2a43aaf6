// The ingress HTTP surface: health, metrics and /openapi.json through Elysia, and the webhook route.
import { Elysia } from "elysia";
import { json } from "../../shared/http/errors.ts";
import { healthRoutes, type ReadinessCheck } from "../../shared/http/health.ts";
import { jsonErrors } from "../../shared/http/json-errors.ts";
import type { Logger } from "../../shared/logger.ts";
import { type Metrics, metricsRoute } from "../../shared/metrics.ts";
import { getAdapter, type SourceConfig } from "../../shared/sources/index.ts";
import { ingressOpenApi } from "./openapi.ts";
import { refuse } from "./refusals.ts";
import { WEBHOOK_ROUTE, type WebhookHandler } from "./webhook.ts";

export interface IngressAppDeps {
  handleWebhook: WebhookHandler;
  /** The sources served (read at each request of /openapi.json: runtime sources join it). */
  sources: ReadonlyMap<string, SourceConfig>;
  readiness: Record<string, ReadinessCheck>;
  metrics: Metrics;
  log: Logger;
  isDraining?: () => boolean;
}

export function createIngressApp(deps: IngressAppDeps) {
  const { handleWebhook, log } = deps;
  return (
    new Elysia()
      .use(jsonErrors(log))
      .use(healthRoutes(deps.readiness, deps.isDraining))
      .use(metricsRoute(deps.metrics))
      // Unauthenticated, as the dashboard's: routes and shapes, no secrets (openapi.ts).
      .get("/openapi.json", () => json(ingressOpenApi(deps.sources)))
      .post(
        WEBHOOK_ROUTE,
        ({ request, params, server }) =>
          handleWebhook(request, params.source, () => server?.requestIP(request)?.address),
        {
          parse: "none",
        },
      )
      .get(WEBHOOK_ROUTE, ({ request, params, server }) =>
        handleWebhook(request, params.source, () => server?.requestIP(request)?.address),
      )
      // Any other method on a webhook URL is a 405, never a 404 (Typeform disables a hook on 404/410);
      // Allow names GET only where the source's type delivers by GET (any id not configured: both).
      .all(WEBHOOK_ROUTE, ({ params }) => {
        const source = deps.sources.get(params.source);
        const allow = source && !getAdapter(source.adapter).acceptsGet ? "POST" : "POST, GET";
        return refuse("method_not_allowed", "webhooks are POSTed (HeyFlow may also GET)", { allow });
      })
  );
}
