// The Prometheus rules and the Grafana dashboard query only metrics the services export:
// every name they use is declared in shared/metrics.ts (METRICS), a histogram's through its
// _bucket/_count/_sum series, besides Prometheus's own `up`.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { hooklineDashboard } from "../../ops/grafana/dashboard.ts";
import { METRICS } from "../../shared/metrics.ts";

const ROOT = join(import.meta.dir, "..", "..");

/** Every series name an exporter of METRICS serves. */
const served = new Set(
  Object.values(METRICS).flatMap((m) =>
    m.type === "histogram" ? [`${m.name}_bucket`, `${m.name}_count`, `${m.name}_sum`] : [m.name],
  ),
);
served.add("up");

/** Metric names in PromQL: identifiers followed by a selector, a range or nothing, not recording rules (with ":"). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:hookline|process)_[a-z0-9_]+|up)\b(?![:(])/g)].map((m) => m[1]!);
}

function ruleExpressions(): string[] {
  const rules = parse(readFileSync(join(ROOT, "ops/prometheus/hookline.rules.yml"), "utf8")) as {
    groups: { rules: { expr: string }[] }[];
  };
  return rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

function dashboardExpressions(): string[] {
  return (hooklineDashboard().panels ?? []).flatMap((p) =>
    ((p as { targets?: { expr?: string }[] }).targets ?? []).map((t) => t.expr ?? ""),
  );
}

test.each([
  ["ops/prometheus/hookline.rules.yml", ruleExpressions],
  ["ops/grafana/hookline.json", dashboardExpressions],
])("%s queries only metrics the services export", (_file, expressions) => {
  const names = new Set(expressions().flatMap(metricNames));
  expect(names.size).toBeGreaterThan(5);
  expect([...names].filter((n) => !served.has(n))).toEqual([]);
});

test("the name check sees a name the services do not export", () => {
  expect(metricNames("rate(hookline_ingress_responses_total[5m]) / up").filter((n) => !served.has(n))).toEqual([
    "hookline_ingress_responses_total",
  ]);
});
