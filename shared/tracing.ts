// OpenTelemetry tracing, configured by the standard OTEL_* variables. With no OTLP
// endpoint set, tracing stays the API's no-op: no exporter, no cost beyond a few calls.
import { context, propagation, trace, type Context, type Tracer } from "@opentelemetry/api";
import { NodeSDK } from "@opentelemetry/sdk-node";

export interface Tracing {
  tracer: Tracer;
  enabled: boolean;
  shutdown(): Promise<void>;
}

export function startTracing(service: string, env: Record<string, string | undefined> = process.env): Tracing {
  const enabled = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) && env.OTEL_SDK_DISABLED !== "true";
  let sdk: NodeSDK | undefined;
  if (enabled) {
    // Exporter, protocol, sampler and batching all come from the standard OTEL_* variables.
    sdk = new NodeSDK({ serviceName: env.OTEL_SERVICE_NAME ?? `hookline-${service}`, instrumentations: [], autoDetectResources: false });
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

/** Reads a W3C trace context (traceparent/tracestate) from any header-like carrier. */
export function extractContext(get: (key: string) => string | undefined | null): Context {
  return propagation.extract(context.active(), {}, {
    keys: () => ["traceparent", "tracestate"],
    get: (_carrier, key) => get(key) ?? undefined,
  });
}

/** Writes the given context's trace headers through `set`. */
export function injectContext(ctx: Context, set: (key: string, value: string) => void): void {
  propagation.inject(ctx, {}, { set: (_carrier, key, value) => set(key, value) });
}
