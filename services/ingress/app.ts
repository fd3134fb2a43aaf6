// The ingress HTTP surface: health and metrics through Elysia, and the webhook route.
import { Elysia } from "elysia";
import { errorResponse } from "../../shared/http/errors.ts";
import { healthRoutes, type ReadinessCheck } from "../../shared/http/health.ts";
import type { Logger } from "../../shared/logger.ts";
import { metricsRoute, type Metrics } from "../../shared/metrics.ts";
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
  return new Elysia()
    .use(healthRoutes(deps.readiness, deps.isDraining))
    .use(metricsRoute(deps.metrics))
    .post(WEBHOOK_ROUTE, ({ request, params, server }) => handleWebhook(request, params.source, () => server?.requestIP(request)?.address), {
      parse: "none",
    })
    .get(WEBHOOK_ROUTE, ({ request, params, server }) => handleWebhook(request, params.source, () => server?.requestIP(request)?.address))
    .onError(({ code, error }) => {
      if (code === "NOT_FOUND") return errorResponse(404, "not_found", "no such route");
      log.error({ err: error }, "unhandled ingress error");
      return errorResponse(500, "internal_error", "internal error");
    });
}
