// Metrics through the OpenTelemetry SDK, exposed in Prometheus text format on each
// service's own /metrics route (no second port to open in the chart). Every metric is
// declared once in METRICS below (name, type, labels, help, buckets); the services create
// their instruments from it, and the README list and the unit test are checked against it.
//
// Names follow the Prometheus conventions: a `hookline_` prefix (`process_` for the
// standard process metrics), base units in the name (`_seconds`, `_bytes`, `_messages`),
// `_total` on counters. `promtool check metrics` passes on every service's output
// (test/integration/metrics.test.ts).
import type { Attributes, Counter, Histogram, Meter, ObservableCounter, ObservableGauge } from "@opentelemetry/api";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { Elysia } from "elysia";
import { startRuntimeMetrics } from "./runtime-metrics.ts";

export interface MetricSpec {
  name: string;
  type: "counter" | "gauge" | "histogram";
  help: string;
  labels: readonly string[];
  /** Histogram bucket upper bounds, in the unit the name ends with. */
  buckets?: readonly number[];
}

// Webhook answers and publishes take milliseconds; a slow sender or JetStream hiccup seconds.
const FAST_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
// A batch is one transaction of up to BATCH_SIZE (10,000) rows: milliseconds to seconds.
const BATCH_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Dashboard reads: one to a few queries, or a cache hit.
const HTTP_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// BATCH_SIZE is 1 to 10,000 (default 500).
const BATCH_MESSAGES = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];

/** The one table of every metric a hookline service exports. */
export const METRICS = {
  // --- ingress ---
  webhooksReceived: {
    name: "hookline_webhooks_received_total",
    type: "counter",
    labels: ["source", "outcome"],
    help: "Webhooks answered by the ingress, by source (unknown: not configured) and outcome: accepted, duplicate, quarantined (authenticated but unparseable: kept in WEBHOOKS_DLQ), or why it was refused (unauthorized, forbidden, unknown_source, method_not_allowed, invalid, too_large, unsupported_media_type, rate_limited, overloaded, queue_full, queue_unavailable)",
  },
  webhookAckDuration: {
    name: "hookline_webhook_ack_duration_seconds",
    type: "histogram",
    labels: ["source"],
    buckets: FAST_SECONDS,
    help: "Time from a webhook's arrival to its 200 answer (body read, verified, stored by JetStream), by source",
  },
  publishDuration: {
    name: "hookline_ingress_publish_duration_seconds",
    type: "histogram",
    labels: [],
    buckets: FAST_SECONDS,
    help: "Time from publishing a webhook to JetStream's PubAck",
  },
  inFlight: {
    name: "hookline_ingress_in_flight",
    type: "gauge",
    labels: [],
    help: "Webhooks being handled now (MAX_IN_FLIGHT caps them)",
  },
  rateLimitShared: {
    name: "hookline_ingress_rate_limit_shared",
    type: "gauge",
    labels: [],
    help: "1 while per-source rate limits are shared through Redis, 0 while this pod counts alone",
  },
  // --- ingress and projector ---
  deadLetters: {
    name: "hookline_dead_letters_total",
    type: "counter",
    labels: ["source", "code"],
    help: "Messages this process moved to WEBHOOKS_DLQ, by source and reason code (ingress: unparseable at receipt; projector: unprojectable, or failed MAX_DELIVER times)",
  },
  // --- JetStream state, read in the background (stream-fill.ts) ---
  streamMessages: {
    name: "hookline_stream_messages",
    type: "gauge",
    labels: ["stream"],
    help: "Messages in the stream (in WEBHOOKS: not yet projected; in WEBHOOKS_DLQ: dead letters)",
  },
  streamBytes: { name: "hookline_stream_bytes", type: "gauge", labels: ["stream"], help: "Bytes stored in the stream" },
  streamMaxBytes: {
    name: "hookline_stream_max_bytes",
    type: "gauge",
    labels: ["stream"],
    help: "The stream's byte limit (-1: none); WEBHOOKS refuses webhooks when it is reached",
  },
  streamMaxMessages: {
    name: "hookline_stream_max_messages",
    type: "gauge",
    labels: ["stream"],
    help: "The stream's message limit (-1: none)",
  },
  streamFillRatio: {
    name: "hookline_stream_fill_ratio",
    type: "gauge",
    labels: ["stream"],
    help: "How full the stream is against its tightest limit (1: refusing)",
  },
  consumerLag: {
    name: "hookline_consumer_lag_messages",
    type: "gauge",
    labels: ["stream", "consumer"],
    help: "Messages the consumer has not finished: num_pending + num_ack_pending, the number KEDA scales the projector on",
  },
  consumerPending: {
    name: "hookline_consumer_pending_messages",
    type: "gauge",
    labels: ["stream", "consumer"],
    help: "Messages not yet delivered to the consumer (num_pending)",
  },
  consumerAckPending: {
    name: "hookline_consumer_ack_pending_messages",
    type: "gauge",
    labels: ["stream", "consumer"],
    help: "Messages delivered and not yet acked (num_ack_pending)",
  },
  consumerRedelivered: {
    name: "hookline_consumer_redelivered_messages",
    type: "gauge",
    labels: ["stream", "consumer"],
    help: "Messages delivered more than once and not yet acked (num_redelivered)",
  },
  // --- projector ---
  projectorEvents: {
    name: "hookline_projector_events_total",
    type: "counter",
    labels: ["result"],
    help: "Messages the projector finished, by result: inserted, duplicate, dead_lettered",
  },
  projectorConflicts: {
    name: "hookline_projector_conflicts_total",
    type: "counter",
    labels: [],
    help: "Submissions held back for review: they contradict the identity of the patient their email matched",
  },
  projectorBatchSize: {
    name: "hookline_projector_batch_messages",
    type: "histogram",
    labels: [],
    buckets: BATCH_MESSAGES,
    help: "Messages per projector batch",
  },
  projectorBatchDuration: {
    name: "hookline_projector_batch_duration_seconds",
    type: "histogram",
    labels: [],
    buckets: BATCH_SECONDS,
    help: "Time to decode, write (one transaction) and ack one batch",
  },
  // --- dashboard ---
  dashboardRequestDuration: {
    name: "hookline_dashboard_request_duration_seconds",
    type: "histogram",
    labels: ["method", "route", "status"],
    buckets: HTTP_SECONDS,
    help: "Dashboard HTTP requests by method, route template (unmatched: no route) and status",
  },
  cacheHits: {
    name: "hookline_dashboard_cache_hits_total",
    type: "counter",
    labels: [],
    help: "Patient detail reads answered from the Redis cache",
  },
  cacheMisses: {
    name: "hookline_dashboard_cache_misses_total",
    type: "counter",
    labels: [],
    help: "Patient detail reads that went to Postgres (a pod's first read of the patient, not cached, or invalidated)",
  },
  cacheErrors: {
    name: "hookline_dashboard_cache_errors_total",
    type: "counter",
    labels: [],
    help: "Patient cache lookups that failed (Redis unavailable) and went to Postgres",
  },
  // --- every service (runtime-metrics.ts) ---
  buildInfo: {
    name: "hookline_build_info",
    type: "gauge",
    labels: ["version", "runtime"],
    help: "Always 1; the labels name the hookline version (package.json) and the Bun version",
  },
  processCpu: {
    name: "process_cpu_seconds_total",
    type: "counter",
    labels: [],
    help: "User and system CPU time spent by the process",
  },
  processResidentMemory: {
    name: "process_resident_memory_bytes",
    type: "gauge",
    labels: [],
    help: "Resident set size of the process",
  },
  processStartTime: {
    name: "process_start_time_seconds",
    type: "gauge",
    labels: [],
    help: "Start time of the process since the Unix epoch",
  },
  processOpenFds: { name: "process_open_fds", type: "gauge", labels: [], help: "Open file descriptors" },
  processMaxFds: { name: "process_max_fds", type: "gauge", labels: [], help: "The limit on open file descriptors" },
  heapUsed: {
    name: "hookline_runtime_heap_used_bytes",
    type: "gauge",
    labels: [],
    help: "JavaScript heap in use (process.memoryUsage().heapUsed)",
  },
  heapSize: {
    name: "hookline_runtime_heap_size_bytes",
    type: "gauge",
    labels: [],
    help: "JavaScript heap reserved (process.memoryUsage().heapTotal)",
  },
  eventLoopDelayP50: {
    name: "hookline_runtime_event_loop_delay_p50_seconds",
    type: "gauge",
    labels: [],
    help: "Median event-loop delay over the last 10 s window (perf_hooks.monitorEventLoopDelay)",
  },
  eventLoopDelayP99: {
    name: "hookline_runtime_event_loop_delay_p99_seconds",
    type: "gauge",
    labels: [],
    help: "99th percentile event-loop delay over the last 10 s window",
  },
  eventLoopDelayMax: {
    name: "hookline_runtime_event_loop_delay_max_seconds",
    type: "gauge",
    labels: [],
    help: "Longest event-loop delay over the last 10 s window",
  },
} as const satisfies Record<string, MetricSpec>;

/** The label values a metric's spec declares, all required. */
export type LabelsOf<S extends MetricSpec> = { [K in S["labels"][number]]: string } & Attributes;

export function counterOf<S extends MetricSpec & { type: "counter" }>(meter: Meter, spec: S): Counter<LabelsOf<S>> {
  const counter = meter.createCounter<LabelsOf<S>>(spec.name, { description: spec.help });
  // A counter without labels is exported as 0 from the start, so rate() and alerts see it before the first event.
  if (spec.labels.length === 0) counter.add(0, {} as LabelsOf<S>);
  return counter;
}

/** A counter whose value is read at scrape time (kept in plain variables on a hot path). */
export function observableCounterOf<S extends MetricSpec & { type: "counter" }>(
  meter: Meter,
  spec: S,
): ObservableCounter<LabelsOf<S>> {
  return meter.createObservableCounter<LabelsOf<S>>(spec.name, { description: spec.help });
}

export function histogramOf<S extends MetricSpec & { type: "histogram" }>(
  meter: Meter,
  spec: S,
): Histogram<LabelsOf<S>> {
  return meter.createHistogram<LabelsOf<S>>(spec.name, {
    description: spec.help,
    advice: { explicitBucketBoundaries: [...(spec.buckets ?? [])] },
  });
}

export function gaugeOf<S extends MetricSpec & { type: "gauge" }>(meter: Meter, spec: S): ObservableGauge<LabelsOf<S>> {
  return meter.createObservableGauge<LabelsOf<S>>(spec.name, { description: spec.help });
}

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
  const meter = provider.getMeter("hookline");
  const runtime = startRuntimeMetrics(meter);
  return {
    meter,
    async render() {
      const { resourceMetrics } = await exporter.collect();
      return serializer.serialize(resourceMetrics);
    },
    shutdown: () => {
      runtime.stop();
      return provider.shutdown();
    },
  };
}

export function metricsRoute(metrics: Metrics) {
  return new Elysia({ name: "metrics" }).get(
    "/metrics",
    async () =>
      new Response(await metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }),
  );
}
