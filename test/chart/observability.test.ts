// The chart's monitoring objects: the PrometheusRule and the Grafana dashboard ConfigMap
// (prometheusRule.enabled, grafanaDashboard.enabled) carry exactly the files under ops/ that
// promtool and the dashboard generator check, and the ServiceMonitors name the jobs the rules
// and the dashboard select. Rendered by the pinned helm (ops/tools); needs no cluster.
import { beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { dashboardJson } from "../../ops/grafana/dashboard.ts";

const ROOT = join(import.meta.dir, "..", "..");
const CHART = join(ROOT, "helm/hookline");
const RULES = join(ROOT, "ops/prometheus/hookline.rules.yml");
const CHART_RULES = join(CHART, "files/prometheus/hookline.rules.yml");
const DASHBOARD = join(ROOT, "ops/grafana/hookline.json");
const CHART_DASHBOARD = join(CHART, "files/grafana/hookline.json");
const PROFILES = readdirSync(join(CHART, "ci"))
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => f.replace(/\.yaml$/, ""));
const BOTH_ON = ["--set", "prometheusRule.enabled=true", "--set", "grafanaDashboard.enabled=true"];

type Obj = Record<string, any>;
let helm = "";

function helmRun(args: string[]) {
  const p = Bun.spawnSync([helm, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString() };
}

function render(profile: string, extra: string[] = []): Obj[] {
  const r = helmRun(["template", "hl", CHART, "-n", "hookline", "-f", join(CHART, "ci", `${profile}.yaml`), ...extra]);
  if (r.code !== 0) throw new Error(`helm template ${profile} failed: ${r.err}`);
  return parseAllDocuments(r.out)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const rule = (objs: Obj[]) => objs.filter((o) => o.kind === "PrometheusRule");
const dashboardMap = (objs: Obj[]) =>
  objs.filter((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("-grafana-dashboard"));

beforeAll(() => {
  const p = Bun.spawnSync([join(ROOT, "ops/tools"), "helm"], { stdout: "pipe", stderr: "inherit" });
  helm = p.stdout.toString().trim();
  if (p.exitCode !== 0 || !helm) throw new Error("ops/tools helm failed");
}, 900_000);

test("the chart's copies of the rules and the dashboard are identical to ops/ (cp ops/prometheus/hookline.rules.yml, bun ops/grafana/dashboard.ts --write)", () => {
  expect(readFileSync(CHART_RULES, "utf8")).toBe(readFileSync(RULES, "utf8"));
  expect(readFileSync(CHART_DASHBOARD, "utf8")).toBe(readFileSync(DASHBOARD, "utf8"));
});

test("off by default in every profile: no PrometheusRule, no dashboard ConfigMap", () => {
  for (const profile of PROFILES) {
    const objs = render(profile);
    expect(rule(objs)).toEqual([]);
    expect(dashboardMap(objs)).toEqual([]);
  }
});

test("prometheusRule: the rules file as the PrometheusRule's spec, with extra labels, and promtool accepts it", () => {
  const [pr, ...more] = rule(render("minimal", [...BOTH_ON, "--set", "prometheusRule.labels.release=prometheus"]));
  expect(more).toEqual([]);
  expect(pr!.apiVersion).toBe("monitoring.coreos.com/v1");
  expect(pr!.metadata.labels).toMatchObject({ release: "prometheus", "app.kubernetes.io/instance": "hl" });
  expect(pr!.spec).toEqual(parse(readFileSync(RULES, "utf8")));
  // Alert templates ({{ $labels.source }}) reach Prometheus as written, not eaten by helm.
  const alerts = pr!.spec.groups.flatMap((g: Obj) => g.rules).filter((r: Obj) => r.alert);
  expect(alerts.map((a: Obj) => a.alert).sort()).toEqual([
    "HooklineAckLatencyHigh",
    "HooklineConsumerLagGrowing",
    "HooklineDeadLettersAppearing",
    "HooklineHigh5xxRate",
    "HooklineServiceDown",
    "HooklineSourceSilent",
  ]);
  expect(JSON.stringify(alerts)).toContain("{{ $labels.source }}");
  const dir = mkdtempSync(join(tmpdir(), "hookline-rule-"));
  try {
    writeFileSync(join(dir, "rules.yml"), JSON.stringify(pr!.spec));
    const check = Bun.spawnSync(["promtool", "check", "rules", join(dir, "rules.yml")], { stdout: "pipe" });
    expect(check.stdout.toString()).toContain("SUCCESS: 16 rules found");
    expect(check.exitCode).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('grafanaDashboard: a ConfigMap Grafana\'s sidecar picks up (grafana_dashboard: "1"), holding the generated dashboard', () => {
  const [cm, ...more] = dashboardMap(
    render("minimal", [...BOTH_ON, "--set", "grafanaDashboard.annotations.grafana_folder=hookline"]),
  );
  expect(more).toEqual([]);
  expect(cm!.metadata.labels.grafana_dashboard).toBe("1");
  expect(cm!.metadata.annotations).toEqual({ grafana_folder: "hookline" });
  expect(Object.keys(cm!.data)).toEqual(["hookline.json"]);
  expect(`${cm!.data["hookline.json"]}\n`).toBe(dashboardJson());
  expect(JSON.parse(cm!.data["hookline.json"]).uid).toBe("hookline");
  // The label can be what another sidecar is configured to select.
  const [other] = dashboardMap(
    render("minimal", [...BOTH_ON, "--set-json", 'grafanaDashboard.labels={"dashboards":"grafana"}']),
  );
  expect(other!.metadata.labels).toMatchObject({ dashboards: "grafana" });
});

test("the ServiceMonitors set the job names the rules, the dashboard and the local Prometheus use", () => {
  const jobs = (parse(readFileSync(join(ROOT, "ops/prometheus/prometheus.yml"), "utf8")) as Obj).scrape_configs.map(
    (c: Obj) => c.job_name,
  );
  expect(jobs.sort()).toEqual(["hookline-dashboard", "hookline-ingress", "hookline-projector"]);
  const monitors = render("minimal", ["--set", "serviceMonitor.enabled=true"]).filter(
    (o) => o.kind === "ServiceMonitor",
  );
  expect(monitors).toHaveLength(3);
  for (const m of monitors) {
    const component = m.metadata.labels["app.kubernetes.io/component"];
    expect(m.spec.endpoints[0].relabelings).toEqual([{ targetLabel: "job", replacement: `hookline-${component}` }]);
  }
  const selector = 'job=~"hookline-(ingress|projector|dashboard)"';
  expect(readFileSync(RULES, "utf8")).toContain(selector);
  expect(readFileSync(DASHBOARD, "utf8")).toContain(JSON.stringify(selector).slice(1, -1));
});

test("values.schema.json refuses unknown keys and wrong types under prometheusRule and grafanaDashboard", () => {
  for (const bad of [
    "prometheusRule.enable=true",
    "grafanaDashboard.folder=x",
    "prometheusRule.enabled=yes",
    "grafanaDashboard.labels.grafana_dashboard=1",
  ]) {
    const args = bad.endsWith("=1") ? ["--set-json", `${bad.split("=")[0]}=1`] : ["--set", bad];
    const r = helmRun(["template", "hl", CHART, "-f", join(CHART, "ci", "minimal.yaml"), ...args]);
    expect({ bad, code: r.code }).toEqual({ bad, code: 1 });
    expect(r.err).toContain("schema");
  }
});
