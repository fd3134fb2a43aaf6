// Metrics through the OpenTelemetry SDK, exposed in Prometheus text format on each
// service's own /metrics route (no second port to open in the chart).
import type { Meter } from "@opentelemetry/api";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { Elysia } from "elysia";

export interface Metrics {
  meter: Meter;
  /** The current values in Prometheus exposition format. */
  render(): Promise<string>;
  shutdown(): Promise<void>;
}

export function createMetrics(service: string): Metrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    readers: [exporter],
    resource: resourceFromAttributes({ "service.name": `hookline-${service}` }),
  });
  // No otel_scope_name label on every series: one meter, so it says nothing.
  const serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  return {
    meter: provider.getMeter("hookline"),
    async render() {
      const { resourceMetrics } = await exporter.collect();
      return serializer.serialize(resourceMetrics);
    },
    shutdown: () => provider.shutdown(),
  };
}

export function metricsRoute(metrics: Metrics) {
  return new Elysia({ name: "metrics" }).get(
    "/metrics",
    async () =>
      new Response(await metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }),
  );
}
