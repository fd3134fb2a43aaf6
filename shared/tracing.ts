// OpenTelemetry tracing, configured by the standard OTEL_* variables. With no OTLP
// endpoint set, tracing stays the API's no-op: no exporter, no cost beyond a few calls.
import { type Context, context, propagation, type Tracer, trace } from "@opentelemetry/api";
import { envDetector } from "@opentelemetry/resources";
import { NodeSDK } from "@opentelemetry/sdk-node";

export interface Tracing {
  tracer: Tracer;
  enabled: boolean;
  shutdown(): Promise<void>;
}

export function startTracing(service: string, env: Record<string, string | undefined> = process.env): Tracing {
  const enabled =
    Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) &&
    env.OTEL_SDK_DISABLED !== "true";
  let sdk: NodeSDK | undefined;
  if (enabled) {
    // Exporter, protocol, sampler and batching all come from the standard OTEL_* variables.
    sdk = new NodeSDK({
      serviceName: env.OTEL_SERVICE_NAME ?? `hookline-${service}`,
      instrumentations: [],
      // Only OTEL_RESOURCE_ATTRIBUTES (the chart's pod and namespace): the host and process
      // detectors would add the host name, command line and pid to every exported batch.
      resourceDetectors: [envDetector],
    });
    sdk.start();
  }
  return {
    tracer: trace.getTracer("hookline"),
    enabled,
    shutdown: async () => {
      await sdk?.shutdown();
    },
  };
}

// W3C Trace Context header shapes (version-traceid-parentid-flags; printable tracestate).
const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;
const TRACESTATE = /^[\x20-\x7e]{1,512}$/;

/** The trace id of a well-formed traceparent, else null. */
export function traceIdOf(traceparent: string | null | undefined): string | null {
  return TRACEPARENT.exec(traceparent ?? "")?.[1] ?? null;
}

/** A sender's trace headers, each kept only when well-formed (they are passed on to other services). */
export function wellFormedTraceContext(traceparent: string | undefined, tracestate: string | undefined) {
  return {
    traceparent: traceparent !== undefined && TRACEPARENT.test(traceparent) ? traceparent : undefined,
    tracestate: tracestate !== undefined && TRACESTATE.test(tracestate) ? tracestate : undefined,
  };
}

/** Reads a W3C trace context (traceparent/tracestate) from any header-like carrier. */
export function extractContext(get: (key: string) => string | undefined | null): Context {
  return propagation.extract(
    context.active(),
    {},
    {
      keys: () => ["traceparent", "tracestate"],
      get: (_carrier, key) => get(key) ?? undefined,
    },
  );
}

/** Writes the given context's trace headers through `set`. */
export function injectContext(ctx: Context, set: (key: string, value: string) => void): void {
  propagation.inject(ctx, {}, { set: (_carrier, key, value) => set(key, value) });
}
