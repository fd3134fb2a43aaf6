// The chart installed into a real API server: etcd and kube-apiserver (pinned, built by
// ops/tools) on loopback with a static token, KEDA's CRDs (from the keda Go module) applied,
// then for every profile `helm install`, `helm upgrade` and `helm uninstall` into a fresh
// namespace (helm v4: server-side apply with strict field validation, so a misspelled field
// is refused). No kubelet runs: pods never start, so nothing waits for them; namespaces never
// finish deleting, so each install uses a new one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { type ApiServer, applyKedaCrds, ROOT, startApiServer } from "./apiserver.ts";

const CHART = join(ROOT, "helm/hookline");
const PROFILES = readdirSync(join(CHART, "ci"))
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => f.replace(/\.yaml$/, ""));

let k: ApiServer;

beforeAll(async () => {
  k = await startApiServer();
  // KEDA's CRDs, from the same release's Go module.
  await applyKedaCrds(k);
}, 900_000);

afterAll(() => k?.stop(), 30_000);

/** The REST path of an object, found through the API server's discovery documents. */
async function pathOf(o: { apiVersion: string; kind: string; metadata: { name: string } }, ns: string) {
  const base = o.apiVersion.includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const discovery = await k.api("GET", base);
  const resource = discovery.json.resources?.find(
    (r: { kind: string; name: string }) => r.kind === o.kind && !r.name.includes("/"),
  );
  if (!resource) throw new Error(`the API server serves no ${o.kind} in ${o.apiVersion}`);
  return `${base}${resource.namespaced ? `/namespaces/${ns}` : ""}/${resource.name}/${o.metadata.name}`;
}

/** Every object of the release's manifest, with its REST path. */
async function releaseObjects(ns: string) {
  const manifest = k.helm(["get", "manifest", "hl", "-n", ns]);
  expect(manifest.code, manifest.out).toBe(0);
  const objs = parseAllDocuments(manifest.out)
    .map((d) => d.toJS())
    .filter((o) => o?.kind);
  return Promise.all(objs.map(async (o) => ({ kind: o.kind as string, path: await pathOf(o, ns) })));
}

describe.each(PROFILES)("profile %s in a real API server", (profile) => {
  test("helm install, upgrade and uninstall are clean; the objects read back", async () => {
    const ns = `hl-${profile}-${Date.now().toString(36)}`;
    // No Prometheus Operator CRDs in this API server: chart.test.ts checks the ServiceMonitors.
    const values = ["-f", join(CHART, "ci", `${profile}.yaml`), "--set", "serviceMonitor.enabled=false"];
    // --no-hooks: without a kubelet the provision Job never completes, and helm waits for a
    // hook Job; chart.test.ts checks the Job as rendered.
    const install = k.helm(["install", "hl", CHART, "-n", ns, "--create-namespace", "--no-hooks", ...values]);
    expect(install.code, install.out).toBe(0);

    // Every object the release made reads back, labelled as the release's.
    const objects = await releaseObjects(ns);
    expect(objects.length).toBeGreaterThan(6);
    for (const { kind, path } of objects) {
      const r = await k.api("GET", path);
      expect({ path, status: r.status }).toEqual({ path, status: 200 });
      expect({ kind, instance: r.json.metadata.labels?.["app.kubernetes.io/instance"] }).toEqual({
        kind,
        instance: "hl",
      });
    }

    const deps = await k.api("GET", `/apis/apps/v1/namespaces/${ns}/deployments`);
    expect(deps.json.items.map((d: any) => d.metadata.labels["app.kubernetes.io/component"]).sort()).toEqual([
      "dashboard",
      "ingress",
      "projector",
    ]);
    for (const d of deps.json.items) {
      const c = d.spec.template.spec.containers[0];
      expect(c.securityContext.runAsNonRoot).toBe(true);
      expect(c.readinessProbe.httpGet.path).toBe("/health/ready");
    }
    const cm = await k.api("GET", `/api/v1/namespaces/${ns}/configmaps/hl-hookline-sources`);
    expect(cm.status).toBe(200);
    const scaled = await k.api("GET", `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`);
    const kedaOn = parse(readFileSync(join(CHART, "ci", `${profile}.yaml`), "utf8")).keda?.enabled === true;
    expect(scaled.json.items.length).toBe(kedaOn ? 1 : 0);

    const upgrade = k.helm(["upgrade", "hl", CHART, "-n", ns, "--no-hooks", ...values, "--set", "logLevel=debug"]);
    expect(upgrade.code, upgrade.out).toBe(0);
    const ingress = await k.api("GET", `/apis/apps/v1/namespaces/${ns}/deployments/hl-hookline-ingress`);
    const env = ingress.json.spec.template.spec.containers[0].env;
    expect(env.find((e: any) => e.name === "LOG_LEVEL").value).toBe("debug");

    const upgraded = await releaseObjects(ns);
    const uninstall = k.helm(["uninstall", "hl", "-n", ns]);
    expect(uninstall.code, uninstall.out).toBe(0);
    // And none is left behind.
    for (const { path } of upgraded)
      expect({ path, status: (await k.api("GET", path)).status }).toEqual({ path, status: 404 });
    expect((await k.api("GET", `/apis/apps/v1/namespaces/${ns}/deployments`)).json.items).toEqual([]);
  }, 120_000);
});
