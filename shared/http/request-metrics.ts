// Request latency of an Elysia app by method, route template and status (one histogram from
// METRICS). The route is the template Elysia matched ("/api/v1/patients/:id"), never the
// path: ids and search terms would make a series per request. Unrouted requests share
// route="unmatched" (as do requests whose body failed to parse), and a method outside the
// standard ones is "other".
import { Elysia } from "elysia";
import { histogramOf, type METRICS, type Metrics } from "../metrics.ts";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

export function requestMetrics(metrics: Metrics, spec: typeof METRICS.dashboardRequestDuration) {
  const histogram = histogramOf(metrics.meter, spec);
  const routes = new WeakMap<Request, string>();
  return (
    new Elysia({ name: "request-metrics" })
      // wrap() surrounds the whole handling, so the status is the one sent: error handlers' and 404s' too.
      .wrap((handle, request) => async (...args: unknown[]) => {
        const started = performance.now();
        let status = 500;
        try {
          const response = (await handle(...args)) as unknown as Response;
          status = response.status;
          return response;
        } finally {
          histogram.record((performance.now() - started) / 1000, {
            method: METHODS.has(request.method) ? request.method : "other",
            route: routes.get(request) ?? "unmatched",
            status: String(status),
          });
        }
      })
      // Known once routed and the body parsed (an onParse hook would override routes' `parse: "none"`),
      // so a body that fails to parse is counted as unmatched too.
      .onTransform({ as: "global" }, ({ route, request }) => {
        if (route) routes.set(request, route);
      })
  );
}
