// SERVER spans for an Elysia app's requests, each the active span while its handler runs so
// the Postgres and Redis calls it makes (shared/client-spans.ts) become its children. The
// span names the route template, never the path or query (ids and search terms stay out):
// "GET /api/v1/patients/:id". Probes and scrapes are not traced.
import { context, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import { Elysia } from "elysia";
import { extractContext } from "../tracing.ts";

const UNTRACED = /^\/(health\/|metrics$)/;

/** With no tracer (tracing off) the plugin does nothing at all. */
export function serverSpans(tracer: Tracer | undefined) {
  const plugin = new Elysia({ name: "server-spans" });
  if (!tracer) return plugin;
  return (
    plugin
      // wrap() is Elysia's hook around the whole handling of a request (its only one that can
      // make a context active for every later hook and the handler).
      .wrap((handle, request) => (...args: unknown[]) => {
        const pathStart = request.url.indexOf("/", request.url.indexOf("//") + 2);
        const queryStart = request.url.indexOf("?", pathStart);
        const path = request.url.slice(pathStart, queryStart < 0 ? undefined : queryStart);
        if (UNTRACED.test(path)) return handle(...args);
        const span = tracer.startSpan(
          request.method,
          { kind: SpanKind.SERVER, attributes: { "http.request.method": request.method } },
          extractContext((key) => request.headers.get(key)),
        );
        return context.with(trace.setSpan(context.active(), span), async () => {
          try {
            const response = (await handle(...args)) as unknown as Response;
            span.setAttribute("http.response.status_code", response.status);
            if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
            return response;
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).name });
            throw error;
          } finally {
            span.end();
          }
        });
      })
      // Known once routed, before any guard (an unauthorized request still names its route).
      .onTransform({ as: "global" }, ({ route, request }) => {
        const span = trace.getActiveSpan();
        if (!span || !route) return;
        span.updateName(`${request.method} ${route}`);
        span.setAttribute("http.route", route);
      })
  );
}
