// The Grafana dashboard for hookline, as code (@grafana/grafana-foundation-sdk). Generated
// into ops/grafana/hookline.json and the chart's copy (helm/hookline/files/grafana/), both
// checked in; test/unit/grafana-dashboard.test.ts fails when either differs from this code.
//   bun ops/grafana/dashboard.ts           prints the JSON
//   bun ops/grafana/dashboard.ts --write   rewrites both files
// Queries use the raw metrics (not the recording rules), so the dashboard works on any
// Prometheus that scrapes the services, rules loaded or not.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as common from "@grafana/grafana-foundation-sdk/common";
import {
  DashboardBuilder,
  DashboardCursorSync,
  type DataSourceRef,
  DatasourceVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanel } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeSeriesPanel } from "@grafana/grafana-foundation-sdk/timeseries";

const ROOT = join(import.meta.dir, "..", "..");
export const DASHBOARD_FILES = [
  join(ROOT, "ops/grafana/hookline.json"),
  join(ROOT, "helm/hookline/files/grafana/hookline.json"),
];

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, resolved by Grafana.
const DATASOURCE: DataSourceRef = { type: "prometheus", uid: "${datasource}" };
/** The services' scrape jobs (ops/prometheus/prometheus.yml, the chart's ServiceMonitors). */
const JOBS = 'job=~"hookline-(ingress|projector|dashboard)"';
const ACCEPTED = 'outcome=~"accepted|duplicate"';
const SERVER_ERRORS = 'outcome=~"queue_full|queue_unavailable|overloaded|error"';

const query = (expr: string, legend: string) =>
  new DataqueryBuilder().datasource(DATASOURCE).expr(expr).legendFormat(legend).range();

const quantile = (q: number, metric: string, by: string) =>
  `histogram_quantile(${q}, sum by (${by}, le) (rate(${metric}_bucket[$__rate_interval])))`;

function timeseries(title: string, description: string, unit: string, ...targets: DataqueryBuilder[]) {
  const panel = new TimeSeriesPanel()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .min(0)
    .height(8)
    .span(12)
    .fillOpacity(10)
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending),
    );
  for (const target of targets) panel.withTarget(target);
  return panel;
}

function stat(title: string, description: string, unit: string, target: DataqueryBuilder, red: number) {
  return new StatPanel()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .height(4)
    .span(6)
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]))
    .thresholds(
      new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
        { value: null, color: "green" },
        { value: red, color: "red" },
      ]),
    )
    .withTarget(target);
}

export function hooklineDashboard() {
  return new DashboardBuilder("hookline")
    .uid("hookline")
    .description("Webhook ingest, projection lag, dead letters, dashboard API and errors of one hookline release.")
    .tags(["hookline"])
    .editable()
    .refresh("30s")
    .time({ from: "now-3h", to: "now" })
    .timezone("browser")
    .tooltip(DashboardCursorSync.Crosshair)
    .withVariable(new DatasourceVariableBuilder("datasource").label("Prometheus").type("prometheus"))

    .withRow(new RowBuilder("Overview"))
    .withPanel(
      stat(
        "Services down",
        "Scrape targets of the three services that do not answer (HooklineServiceDown).",
        "short",
        query(`count(up{${JOBS}} == 0) or vector(0)`, "down"),
        1,
      ),
    )
    .withPanel(
      stat(
        "Projector lag",
        "Webhooks stored but not yet projected: num_pending + num_ack_pending of the projector consumer, what KEDA scales on.",
        "short",
        query('max(hookline_consumer_lag_messages{consumer="projector"})', "lag"),
        1000,
      ),
    )
    .withPanel(
      stat(
        "Dead letters",
        "Messages in WEBHOOKS_DLQ (hookline dlq list).",
        "short",
        query('max(hookline_stream_messages{stream="WEBHOOKS_DLQ"})', "dead letters"),
        1,
      ),
    )
    .withPanel(
      stat(
        "5xx answers",
        "Share of webhooks answered 5xx in the last 5 minutes (queue full or unavailable, overloaded, error).",
        "percentunit",
        query(
          `sum(rate(hookline_webhooks_received_total{${SERVER_ERRORS}}[5m])) / sum(rate(hookline_webhooks_received_total[5m]))`,
          "5xx",
        ),
        0.01,
      ),
    )

    .withRow(new RowBuilder("Ingest"))
    .withPanel(
      timeseries(
        "Webhooks accepted by source",
        "Webhooks answered 200 per second (new and duplicates).",
        "reqps",
        query(`sum by (source) (rate(hookline_webhooks_received_total{${ACCEPTED}}[$__rate_interval]))`, "{{source}}"),
      ).stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal)),
    )
    .withPanel(
      timeseries(
        "Webhooks refused by outcome",
        "Webhooks not accepted per second, by why (unauthorized, rate_limited, queue_full, ...) and source.",
        "reqps",
        query(
          `sum by (outcome, source) (rate(hookline_webhooks_received_total{outcome!~"accepted|duplicate"}[$__rate_interval]))`,
          "{{outcome}} {{source}}",
        ),
      ),
    )
    .withPanel(
      timeseries(
        "Acknowledgement latency by source",
        "Time from a webhook's arrival to its 200 (stored by JetStream): p50, p90, p99. Alert above 250 ms p99.",
        "s",
        query(quantile(0.5, "hookline_webhook_ack_duration_seconds", "source"), "p50 {{source}}"),
        query(quantile(0.9, "hookline_webhook_ack_duration_seconds", "source"), "p90 {{source}}"),
        query(quantile(0.99, "hookline_webhook_ack_duration_seconds", "source"), "p99 {{source}}"),
      ),
    )
    .withPanel(
      timeseries(
        "Publish latency",
        "Time from publishing to JetStream's PubAck, over all ingress pods.",
        "s",
        query(quantile(0.5, "hookline_ingress_publish_duration_seconds", "job"), "p50"),
        query(quantile(0.99, "hookline_ingress_publish_duration_seconds", "job"), "p99"),
      ),
    )

    .withRow(new RowBuilder("Projection"))
    .withPanel(
      timeseries(
        "Consumer lag",
        "Messages the consumer has not finished (pending + ack pending) and how full the streams are.",
        "short",
        query("max by (stream, consumer) (hookline_consumer_lag_messages)", "{{stream}}/{{consumer}}"),
      ),
    )
    .withPanel(
      timeseries(
        "Projector throughput",
        "Messages the projector finished per second, by result.",
        "ops",
        query("sum by (result) (rate(hookline_projector_events_total[$__rate_interval]))", "{{result}}"),
      ).stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal)),
    )
    .withPanel(
      timeseries(
        "Batch size",
        "Messages per projector batch (one transaction each).",
        "short",
        query(quantile(0.5, "hookline_projector_batch_messages", "job"), "p50"),
        query(quantile(0.99, "hookline_projector_batch_messages", "job"), "p99"),
      ),
    )
    .withPanel(
      timeseries(
        "Batch duration",
        "Time to decode, write and ack one batch.",
        "s",
        query(quantile(0.5, "hookline_projector_batch_duration_seconds", "job"), "p50"),
        query(quantile(0.99, "hookline_projector_batch_duration_seconds", "job"), "p99"),
      ),
    )
    .withPanel(
      timeseries(
        "Dead letters",
        "Messages moved to WEBHOOKS_DLQ per interval, by source and reason code, and the DLQ's size.",
        "short",
        query("sum by (source, code) (increase(hookline_dead_letters_total[$__rate_interval]))", "{{source}} {{code}}"),
        query('max(hookline_stream_messages{stream="WEBHOOKS_DLQ"})', "in WEBHOOKS_DLQ"),
      ),
    )
    .withPanel(
      timeseries(
        "Stream fill",
        "How full each stream is against its tightest limit; at 1 the ingress answers 503 queue_full.",
        "percentunit",
        query("max by (stream) (hookline_stream_fill_ratio)", "{{stream}}"),
      ).max(1),
    )

    .withRow(new RowBuilder("Dashboard API"))
    .withPanel(
      timeseries(
        "Request latency by route (p99)",
        "Dashboard API and page requests, 99th percentile by route template.",
        "s",
        query(quantile(0.99, "hookline_dashboard_request_duration_seconds", "route"), "{{route}}"),
      ),
    )
    .withPanel(
      timeseries(
        "Requests by status",
        "Dashboard requests per second by HTTP status.",
        "reqps",
        query(
          "sum by (status) (rate(hookline_dashboard_request_duration_seconds_count[$__rate_interval]))",
          "{{status}}",
        ),
      ),
    )
    .withPanel(
      timeseries(
        "Patient cache hit ratio",
        "Share of single-patient reads answered from Redis.",
        "percentunit",
        query(
          "sum(rate(hookline_dashboard_cache_hits_total[$__rate_interval])) / (sum(rate(hookline_dashboard_cache_hits_total[$__rate_interval])) + sum(rate(hookline_dashboard_cache_misses_total[$__rate_interval])))",
          "hit ratio",
        ),
      ).max(1),
    )

    .withRow(new RowBuilder("Errors and processes"))
    .withPanel(
      timeseries(
        "5xx answers",
        "Ingress webhooks and dashboard requests answered 5xx, per second.",
        "reqps",
        query(
          `sum by (outcome) (rate(hookline_webhooks_received_total{${SERVER_ERRORS}}[$__rate_interval]))`,
          "ingress {{outcome}}",
        ),
        query(
          'sum by (route) (rate(hookline_dashboard_request_duration_seconds_count{status=~"5.."}[$__rate_interval]))',
          "dashboard {{route}}",
        ),
      ),
    )
    .withPanel(
      timeseries(
        "Resident memory",
        "RSS of each process.",
        "bytes",
        query(`process_resident_memory_bytes{${JOBS}}`, "{{job}} {{instance}}"),
      ),
    )
    .withPanel(
      timeseries(
        "Event-loop delay (p99)",
        "99th percentile event-loop delay of each process over the last 10 s.",
        "s",
        query(`hookline_runtime_event_loop_delay_p99_seconds{${JOBS}}`, "{{job}} {{instance}}"),
      ),
    )
    .withPanel(
      timeseries(
        "CPU",
        "CPU seconds per second of each process.",
        "percentunit",
        query(`rate(process_cpu_seconds_total{${JOBS}}[$__rate_interval])`, "{{job}} {{instance}}"),
      ),
    )
    .build();
}

/** The file's text: what --write writes and the drift test compares. */
export function dashboardJson(): string {
  return `${JSON.stringify(hooklineDashboard(), null, 2)}\n`;
}

if (import.meta.main) {
  if (process.argv.includes("--write")) for (const file of DASHBOARD_FILES) writeFileSync(file, dashboardJson());
  else process.stdout.write(dashboardJson());
}
