// The ingress HTTP surface: health and metrics through Elysia, and the webhook route.
import { Elysia } from "elysia";
import { errorResponse } from "../../shared/http/errors.ts";
import { healthRoutes, type ReadinessCheck } from "../../shared/http/health.ts";
import { jsonErrors } from "../../shared/http/json-errors.ts";
import type { Logger } from "../../shared/logger.ts";
import { type Metrics, metricsRoute } from "../../shared/metrics.ts";
import { WEBHOOK_ROUTE, type WebhookHandler } from "./webhook.ts";

export interface IngressAppDeps {
  handleWebhook: WebhookHandler;
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
      // Any other method on a webhook URL is a 405, never a 404 (Typeform disables a hook on 404/410).
      .all(WEBHOOK_ROUTE, () =>
        errorResponse(405, "method_not_allowed", "webhooks are POSTed (HeyFlow may also GET)", { allow: "POST, GET" }),
      )
  );
}
