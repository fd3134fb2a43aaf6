// The Grafana dashboard is generated from ops/grafana/dashboard.ts; the checked-in JSON (ops/
// and the chart's copy) must be exactly what it generates, and every panel must query
// Prometheus through the dashboard's datasource variable.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { DASHBOARD_FILES, dashboardJson, hooklineDashboard } from "../../ops/grafana/dashboard.ts";

/** Grafana's reference to the dashboard's datasource variable (not a JS template). */
const DATASOURCE_VAR = ["$", "{datasource}"].join("");

test("the checked-in dashboard JSON is the generated one (run: bun ops/grafana/dashboard.ts --write)", () => {
  expect(DASHBOARD_FILES).toHaveLength(2);
  for (const file of DASHBOARD_FILES)
    expect({ file, text: readFileSync(file, "utf8") }).toEqual({ file, text: dashboardJson() });
});

test("the dashboard covers ingest, lag, projector, dead letters, dashboard latency and errors", () => {
  const dashboard = hooklineDashboard();
  const titles = (dashboard.panels ?? []).map((p) => p.title);
  for (const title of [
    "Webhooks accepted by source",
    "Acknowledgement latency by source",
    "Consumer lag",
    "Projector throughput",
    "Dead letters",
    "Request latency by route (p99)",
    "5xx answers",
  ])
    expect(titles).toContain(title);
  expect(dashboard.uid).toBe("hookline");
});

test("every query goes through the datasource variable, and every panel has one", () => {
  const dashboard = hooklineDashboard();
  expect(dashboard.templating?.list?.map((v) => [v.name, v.type, v.query])).toEqual([
    ["datasource", "datasource", "prometheus"],
  ]);
  const panels = (dashboard.panels ?? []).filter((p) => p.type !== "row") as {
    title: string;
    datasource?: { uid?: string };
    targets?: { datasource?: { uid?: string }; expr?: string }[];
  }[];
  for (const panel of panels) {
    expect({ panel: panel.title, uid: panel.datasource?.uid }).toEqual({ panel: panel.title, uid: DATASOURCE_VAR });
    expect(panel.targets?.length).toBeGreaterThan(0);
    for (const target of panel.targets ?? []) {
      expect(target.datasource?.uid).toBe(DATASOURCE_VAR);
      expect(target.expr).toMatch(/\w/);
    }
  }
});
