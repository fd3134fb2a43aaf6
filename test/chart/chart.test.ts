// The Helm chart (helm/hookline), rendered by the pinned helm that ops/tools builds: lint
// --strict for every profile, and what the rendered objects must hold (non-root, no secret
// in a ConfigMap, probe paths the services serve, app.kubernetes.io labels, the KEDA trigger
// naming the stream and consumer the code provisions, env names the services read) and that
// values.schema.json refuses bad values. Needs no cluster.
import { beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { provisionConfigSpec } from "../../ops/provision-config.ts";
import { dashboardConfigSpec } from "../../services/dashboard/config.ts";
import { ingressConfigSpec } from "../../services/ingress/config.ts";
import { WEBHOOK_ROUTE } from "../../services/ingress/webhook.ts";
import { projectorConfigSpec } from "../../services/projector/config.ts";
import { redisTlsConfig } from "../../shared/config.ts";
import { PROJECTOR_CONSUMER, STREAM } from "../../shared/nats.ts";

const ROOT = join(import.meta.dir, "..", "..");
const CHART = join(ROOT, "helm/hookline");
const PROFILES = readdirSync(join(CHART, "ci"))
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => f.replace(/\.yaml$/, ""));

/** The health routes every service serves (shared/http/health.ts). */
const HEALTH_PATHS = ["/health/live", "/health/ready"];
const SPECS: Record<string, Record<string, { name: string }>> = {
  ingress: ingressConfigSpec,
  projector: projectorConfigSpec,
  dashboard: dashboardConfigSpec,
};
/** What `/hookline provision` reads. */
const PROVISION_SPEC: Record<string, { name: string }> = provisionConfigSpec;
/** Read by the OpenTelemetry SDK (shared/tracing.ts), not by a config spec. */
const OTEL_ENV = /^OTEL_[A-Z_]+$/;
/** Downward-API values that only feed OTEL_RESOURCE_ATTRIBUTES. */
const POD_FIELDS = ["K8S_POD_NAME", "K8S_NAMESPACE_NAME"];

type Obj = Record<string, any>;

let helm = "";

function run(args: string[]): { code: number; out: string; err: string } {
  const p = Bun.spawnSync([helm, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString() };
}

function render(profile: string, extra: string[] = []): Obj[] {
  const r = run([
    "template",
    "hl",
    CHART,
    "--namespace",
    "hookline",
    "-f",
    join(CHART, "ci", `${profile}.yaml`),
    ...extra,
  ]);
  if (r.code !== 0) throw new Error(`helm template ${profile} failed: ${r.err}`);
  return parseAllDocuments(r.out)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const profileValues = (profile: string): Obj => parse(readFileSync(join(CHART, "ci", `${profile}.yaml`), "utf8"));
const deployments = (objs: Obj[]) => objs.filter((o) => o.kind === "Deployment");
const componentOf = (o: Obj): string => o.metadata.labels["app.kubernetes.io/component"];

beforeAll(() => {
  const p = Bun.spawnSync([join(ROOT, "ops/tools"), "helm"], { stdout: "pipe", stderr: "inherit" });
  helm = p.stdout.toString().trim();
  if (p.exitCode !== 0 || !helm) throw new Error("ops/tools helm failed");
}, 900_000);

test("the profiles exist", () => {
  expect(PROFILES).toEqual(expect.arrayContaining(["minimal", "production"]));
});

describe.each(PROFILES)("profile %s", (profile) => {
  test("helm lint --strict passes", () => {
    const r = run(["lint", "--strict", CHART, "-f", join(CHART, "ci", `${profile}.yaml`)]);
    expect(r.code, r.out + r.err).toBe(0);
  });

  test("one Deployment a service, running /hookline <service> as non-root with a read-only root", () => {
    const objs = render(profile);
    const deps = deployments(objs);
    expect(deps.map(componentOf).sort()).toEqual(["dashboard", "ingress", "projector"]);
    for (const d of deps) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.securityContext.seccompProfile.type).toBe("RuntimeDefault");
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(25); // the services drain for 25 s
      expect(pod.topologySpreadConstraints?.length ?? 0).toBeGreaterThan(0);
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        expect(c.command).toEqual(["/hookline", componentOf(d)]);
        const sc = c.securityContext;
        expect(sc.runAsNonRoot).toBe(true);
        expect(sc.runAsUser ?? pod.securityContext.runAsUser).not.toBe(0);
        expect(sc.readOnlyRootFilesystem).toBe(true);
        expect(sc.allowPrivilegeEscalation).toBe(false);
        expect(sc.capabilities.drop).toEqual(["ALL"]);
        expect(sc.seccompProfile.type).toBe("RuntimeDefault");
      }
    }
  });

  test("probes ask for paths the services serve, on the service's port", () => {
    for (const d of deployments(render(profile))) {
      for (const c of d.spec.template.spec.containers) {
        const port = Number(c.env.find((e: Obj) => e.name === "PORT").value);
        expect(c.ports.find((p: Obj) => p.name === "http").containerPort).toBe(port);
        for (const kind of ["startupProbe", "livenessProbe", "readinessProbe"]) {
          expect(HEALTH_PATHS).toContain(c[kind].httpGet.path);
          expect(c[kind].httpGet.port).toBe("http");
        }
        expect(c.readinessProbe.httpGet.path).toBe("/health/ready");
      }
    }
  });

  test("every object carries app.kubernetes.io/name and instance", () => {
    for (const o of render(profile)) {
      expect(o.metadata.labels?.["app.kubernetes.io/name"], `${o.kind} ${o.metadata.name}`).toBe("hookline");
      expect(o.metadata.labels?.["app.kubernetes.io/instance"], `${o.kind} ${o.metadata.name}`).toBe("hl");
    }
  });

  test("no secret value is in a ConfigMap; the Secret holds them", () => {
    const objs = render(profile);
    if (profileValues(profile).existingSecret) {
      // The values hold no secret at all; the "existingSecret" test below covers this shape.
      expect(objs.filter((o) => o.kind === "Secret")).toEqual([]);
      return;
    }
    const secrets = profileValues(profile).secrets as Obj;
    const values = [
      secrets.databaseUrl,
      secrets.redisUrl,
      secrets.dashboardApiTokens,
      secrets.dataKeys,
      secrets.blindIndexKeys,
      ...Object.values(secrets.sources),
    ];
    expect(values.length).toBeGreaterThan(3);
    const configMaps = JSON.stringify(objs.filter((o) => o.kind === "ConfigMap"));
    const secret = objs.find((o) => o.kind === "Secret");
    for (const v of values) {
      expect(configMaps).not.toContain(v);
      expect(Object.values(secret?.stringData ?? {})).toContain(v);
    }
    // Also with the secrets given on the command line.
    const marker = "s3cr3t-from-the-command-line-42";
    const again = render(profile, ["--set", `secrets.databaseUrl=postgres://u:${marker}@db/h`]);
    expect(JSON.stringify(again.filter((o) => o.kind === "ConfigMap"))).not.toContain(marker);
  });

  test("each container sets only env vars its service (or its sources file, or OpenTelemetry) reads", () => {
    const objs = render(profile);
    const sourcesFile = parse(objs.find((o) => o.kind === "ConfigMap")?.data["sources.yaml"]);
    const sourceEnv = new Set<string>();
    JSON.stringify(sourcesFile, (k, v) => {
      if (k === "env" && typeof v === "string") sourceEnv.add(v);
      return v;
    });
    for (const d of deployments(objs)) {
      const spec = SPECS[componentOf(d)] ?? {};
      const read = new Set(Object.values(spec).map((e) => e.name));
      for (const c of d.spec.template.spec.containers) {
        const names: string[] = c.env.map((e: Obj) => e.name);
        expect(names).toContain("HOOKLINE_ENV");
        expect(c.env.find((e: Obj) => e.name === "HOOKLINE_ENV").value).toBe("production");
        for (const n of names) {
          const known = read.has(n) || sourceEnv.has(n) || OTEL_ENV.test(n) || POD_FIELDS.includes(n);
          expect(known, `${componentOf(d)} sets ${n}, which nothing reads`).toBe(true);
        }
        for (const n of sourceEnv) expect(names).toContain(n);
        // HOOKLINE_KEYS on the ingress too: it opens the secrets of sources created at runtime.
        for (const n of ["NATS_URL", "DATABASE_URL", "REDIS_URL", "DASHBOARD_API_TOKENS", "HOOKLINE_KEYS"]) {
          if (!read.has(n)) continue;
          expect(names, `${componentOf(d)} needs ${n}`).toContain(n);
          expect(c.env.find((e: Obj) => e.name === n).valueFrom.secretKeyRef.key).toBe(n);
        }
      }
    }
    // The webhook URLs the clients API hands out point at the Ingress's webhooks host.
    const values = profileValues(profile) as Obj;
    const dashboard = deployments(objs).find((d) => componentOf(d) === "dashboard") as Obj;
    const base = dashboard.spec.template.spec.containers[0].env.find(
      (e: Obj) => e.name === "PUBLIC_WEBHOOK_BASE_URL",
    )?.value;
    expect(base).toBe(
      values.dashboard?.publicWebhookBaseUrl ||
        (values.httpIngress?.enabled ? `https://${values.httpIngress.webhooksHost ?? "hooks.example.com"}` : undefined),
    );
  });

  test("the projector's KEDA trigger reads the stream and consumer the code provisions", () => {
    const objs = render(profile);
    const scaled = objs.filter((o) => o.kind === "ScaledObject");
    if (!profileValues(profile).keda?.enabled) {
      expect(scaled).toEqual([]);
      return;
    }
    expect(scaled).toHaveLength(1);
    const so = scaled[0] as Obj;
    expect(so.spec.scaleTargetRef.name).toBe(
      deployments(objs).find((d) => componentOf(d) === "projector")?.metadata.name,
    );
    expect(so.spec.fallback.replicas).toBeGreaterThan(0);
    expect(so.spec.triggers).toHaveLength(1);
    const trigger = so.spec.triggers[0];
    expect(trigger.type).toBe("nats-jetstream");
    // KEDA's CRD leaves trigger metadata free-form: a misspelled key would be accepted and ignored.
    // The monitoring endpoint is in the metadata, or (TriggerAuthentication) in a Secret.
    const viaAuth = profileValues(profile).keda?.triggerAuthentication?.enabled === true;
    const keys = ["account", "activationLagThreshold", "consumer", "lagThreshold", "stream", "useHttps"];
    expect(Object.keys(trigger.metadata).sort()).toEqual(
      (viaAuth ? keys : [...keys, "natsServerMonitoringEndpoint"]).sort(),
    );
    expect(["true", "false"]).toContain(trigger.metadata.useHttps);
    const auths = objs.filter((o) => o.kind === "TriggerAuthentication");
    if (viaAuth) {
      expect(auths).toHaveLength(1);
      expect(trigger.authenticationRef).toEqual({ name: auths[0]?.metadata.name });
      const ref = auths[0]?.spec.secretTargetRef;
      expect(ref).toEqual([
        { parameter: "natsServerMonitoringEndpoint", name: expect.any(String), key: "NATS_MONITORING_ENDPOINT" },
      ]);
      const own = objs.find((o) => o.kind === "Secret" && o.metadata.name === ref[0].name);
      if (own) expect(own.stringData.NATS_MONITORING_ENDPOINT).toBe(profileValues(profile).nats.monitoringEndpoint);
      else expect(ref[0].name).toBe(profileValues(profile).existingSecret);
    } else {
      expect(auths).toEqual([]);
      expect(trigger.authenticationRef).toBeUndefined();
    }
    expect(trigger.metadata.stream).toBe(STREAM);
    expect(trigger.metadata.consumer).toBe(PROJECTOR_CONSUMER);
    expect(Number(trigger.metadata.lagThreshold)).toBeGreaterThan(0);
    // The projector Deployment leaves its replica count to KEDA.
    expect(deployments(objs).find((d) => componentOf(d) === "projector")?.spec.replicas).toBeUndefined();
  });
});

describe.each(PROFILES)("profile %s: the provision hook Job", (profile) => {
  const envNames = (c: Obj): string[] => (c.env ?? []).map((e: Obj) => e.name);
  test("runs /hookline provision as non-root before install and upgrade", () => {
    const objs = render(profile);
    const jobs = objs.filter((o) => o.kind === "Job");
    expect(jobs.length).toBe(1);
    const job = jobs[0] as Obj;
    expect(job.metadata.annotations["helm.sh/hook"]).toBe("pre-install,pre-upgrade");
    expect(job.metadata.annotations["helm.sh/hook-delete-policy"]).toBe("before-hook-creation,hook-succeeded");
    expect(job.spec.backoffLimit).toBeGreaterThanOrEqual(0);
    expect(job.spec.activeDeadlineSeconds).toBeGreaterThan(0);
    const pod = job.spec.template.spec;
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    const c = pod.containers[0];
    expect(c.command).toEqual(["/hookline", "provision"]);
    expect(c.securityContext).toEqual(deployments(objs)[0]?.spec.template.spec.containers[0].securityContext);
    expect(c.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    // The env names it shares with the services that provisioned before (same helpers).
    const ingress = deployments(objs).find((d) => componentOf(d) === "ingress") as Obj;
    const projector = deployments(objs).find((d) => componentOf(d) === "projector") as Obj;
    const jobEnv = envNames(c);
    for (const name of envNames(ingress.spec.template.spec.containers[0]).filter(
      (n) =>
        ![
          "HOST",
          "PORT",
          "HOOKLINE_SOURCES",
          "HOOKLINE_PROVISION",
          "PUBLISH_TIMEOUT_MS",
          "TRUSTED_PROXIES",
          "MAX_IN_FLIGHT",
          "REDIS_URL",
          "DASHBOARD_API_TOKENS",
          "HOOKLINE_KEYS",
          ...Object.values(redisTlsConfig).map((e) => e.name),
        ].includes(n) && !(n in (profileValues(profile).secrets as Obj).sources),
    ))
      expect(jobEnv).toContain(name);
    expect(jobEnv).toContain("DATABASE_URL");
    // Each name is one the provision command reads (its spec: common + stream limits + database).
    for (const name of jobEnv) {
      if (OTEL_ENV.test(name) || POD_FIELDS.includes(name)) continue;
      expect([...Object.values(PROVISION_SPEC)].map((e) => e.name)).toContain(name);
    }
    // Stream replicas from values; the services no longer provision.
    const replicas = (profileValues(profile).stream as Obj | undefined)?.replicas;
    if (replicas) expect(c.env.find((e: Obj) => e.name === "STREAM_REPLICAS")?.value).toBe(String(replicas));
    for (const d of [ingress, projector])
      expect(d.spec.template.spec.containers[0].env.find((e: Obj) => e.name === "HOOKLINE_PROVISION")?.value).toBe(
        "false",
      );
    // Its Secret is the existing one, or a hook created before it (the release's Secret does
    // not exist yet at pre-install).
    const secretName = c.env.find((e: Obj) => e.name === "DATABASE_URL").valueFrom.secretKeyRef.name;
    const existing = profileValues(profile).existingSecret;
    if (existing) {
      expect(secretName).toBe(existing);
      expect(objs.filter((o) => o.kind === "Secret")).toEqual([]);
      return;
    }
    const hookSecret = objs.find((o) => o.kind === "Secret" && o.metadata.name === secretName) as Obj;
    // Deleted once all hooks of the event have run (Helm deletes hook-succeeded objects after the
    // last hook, and on a failure those that succeeded before it): DATABASE_URL does not linger.
    expect(hookSecret.metadata.annotations["helm.sh/hook-delete-policy"]).toBe("before-hook-creation,hook-succeeded");
    expect(Number(hookSecret.metadata.annotations["helm.sh/hook-weight"])).toBeLessThan(
      Number(job.metadata.annotations["helm.sh/hook-weight"]),
    );
  });

  test("provisionJob.enabled=false: no Job, the services provision", () => {
    const objs = render(profile, ["--set", "provisionJob.enabled=false"]);
    expect(objs.filter((o) => o.kind === "Job")).toEqual([]);
    for (const d of deployments(objs).filter((d) => componentOf(d) !== "dashboard"))
      expect(d.spec.template.spec.containers[0].env.find((e: Obj) => e.name === "HOOKLINE_PROVISION")?.value).toBe(
        "true",
      );
  });
});

test.each(PROFILES)(
  "NOTES.txt (profile %s) tells how to reach the ingress, sign a webhook and open the dashboard",
  (profile) => {
    const r = run([
      "install",
      "hl",
      CHART,
      "--dry-run=client",
      "-n",
      "hookline",
      "-f",
      join(CHART, "ci", `${profile}.yaml`),
    ]);
    expect(r.code, r.err).toBe(0);
    const notes = r.out.slice(r.out.indexOf("NOTES:"));
    expect(notes).toContain("port-forward svc/hl-hookline-ingress");
    expect(notes).toContain("port-forward svc/hl-hookline-dashboard");
    const src = ((profileValues(profile).sources ?? []) as Obj[]).find((s) => s.auth.scheme === "standard-webhooks");
    if (src) {
      expect(notes).toContain(`/v1/webhooks/${src.id}`);
      expect(notes).toContain("webhook-signature: v1,$sig");
      expect(notes).toContain(`{.data.${src.auth.secrets[0].env}}`);
    } else expect(notes).toContain("No source with `auth.scheme: standard-webhooks`");
  },
);

test("networkPolicy: ingress pods open on their port, projector and dashboard only from the release (+ the configured namespaces); the dashboard's metrics port never from the ingress controller", () => {
  expect(render("minimal").filter((o) => o.kind === "NetworkPolicy")).toEqual([]);
  const objs = render("production");
  const nv = profileValues("production").networkPolicy as Obj;
  const policies = objs.filter((o) => o.kind === "NetworkPolicy");
  expect(policies.map(componentOf).sort()).toEqual(["dashboard", "ingress", "projector"]);
  const release = { "app.kubernetes.io/name": "hookline", "app.kubernetes.io/instance": "hl" };
  for (const np of policies) {
    const dep = deployments(objs).find((d) => componentOf(d) === componentOf(np)) as Obj;
    // Selects exactly that Deployment's pods.
    expect(np.spec.podSelector.matchLabels).toEqual(dep.spec.selector.matchLabels);
    expect(np.spec.policyTypes).toEqual(["Ingress"]);
    const dashboard = componentOf(np) === "dashboard";
    // The dashboard serves /metrics on a port of its own (METRICS_PORT): a rule for each port.
    expect(np.spec.ingress.length).toBe(dashboard ? 2 : 1);
    const rule = np.spec.ingress[0];
    expect(rule.ports).toEqual([{ port: "http", protocol: "TCP" }]);
    if (componentOf(np) === "ingress") {
      expect(rule.from).toBeUndefined();
      continue;
    }
    expect(rule.from[0]).toEqual({ podSelector: { matchLabels: release } });
    const namespaces = rule.from.slice(1).map((f: Obj) => f.namespaceSelector);
    const expected = dashboard ? [nv.ingressControllerNamespaceSelector] : [nv.metricsNamespaceSelector];
    expect(namespaces).toEqual(expected);
    expect(rule.from.every((f: Obj) => f.podSelector || f.namespaceSelector)).toBe(true);
    if (dashboard)
      expect(np.spec.ingress[1]).toEqual({
        from: [{ podSelector: { matchLabels: release } }, { namespaceSelector: nv.metricsNamespaceSelector }],
        ports: [{ port: "metrics", protocol: "TCP" }],
      });
  }
});

test("serviceMonitor: one per service, selecting its Service, scraping /metrics on the http port (the dashboard: its metrics port)", () => {
  expect(render("minimal").filter((o) => o.kind === "ServiceMonitor")).toEqual([]);
  const objs = render("production");
  const monitors = objs.filter((o) => o.kind === "ServiceMonitor");
  expect(monitors.map(componentOf).sort()).toEqual(["dashboard", "ingress", "projector"]);
  for (const m of monitors) {
    const svc = objs.find((o) => o.kind === "Service" && componentOf(o) === componentOf(m)) as Obj;
    for (const [k, v] of Object.entries(m.spec.selector.matchLabels)) expect(svc.metadata.labels[k]).toBe(v as string);
    const port = componentOf(m) === "dashboard" ? "metrics" : "http";
    expect(svc.spec.ports.map((p: Obj) => p.name)).toContain(port);
    expect(m.spec.endpoints).toEqual([expect.objectContaining({ port, path: "/metrics" })]);
    expect(m.metadata.labels.release).toBe("prometheus");
  }
});

test("dashboard.metricsPort equal to dashboard.port is refused at render, not left to crash-loop the pod", () => {
  const r = run([
    "template",
    "hl",
    CHART,
    "-f",
    join(CHART, "ci", "minimal.yaml"),
    "--set",
    "dashboard.metricsPort=3000",
  ]);
  expect(r.code).not.toBe(0);
  expect(r.err).toContain("dashboard.metricsPort must differ from dashboard.port");
});

test("existingSecret: no Secret is rendered and every secret env var reads the named one", () => {
  const objs = render("minimal", ["--set", "existingSecret=hookline-prod"]);
  expect(objs.filter((o) => o.kind === "Secret")).toEqual([]);
  for (const d of deployments(objs))
    for (const e of d.spec.template.spec.containers[0].env)
      if (e.valueFrom?.secretKeyRef) expect(e.valueFrom.secretKeyRef.name).toBe("hookline-prod");
});

test("httpIngress: only the webhook path goes to the ingress Service; the dashboard only on its own host", () => {
  expect(render("minimal").filter((o) => o.kind === "Ingress")).toEqual([]);
  const webhookPrefix = WEBHOOK_ROUTE.slice(0, WEBHOOK_ROUTE.indexOf("/:"));
  const serviceOf = (objs: Obj[], component: string) =>
    objs.find((o) => o.kind === "Service" && componentOf(o) === component) as Obj;
  const only = render("minimal", ["--set", "httpIngress.enabled=true", "--set", "httpIngress.webhooksHost=h.example"]);
  const [ing] = only.filter((o) => o.kind === "Ingress") as Obj[];
  expect(ing?.spec.rules).toEqual([
    {
      host: "h.example",
      http: {
        paths: [
          {
            path: webhookPrefix,
            pathType: "Prefix",
            backend: { service: { name: serviceOf(only, "ingress").metadata.name, port: { name: "http" } } },
          },
        ],
      },
    },
  ]);
  expect(ing?.spec.ingressClassName).toBeUndefined();

  const objs = render("existing-secrets");
  const v = profileValues("existing-secrets").httpIngress as Obj;
  const [full] = objs.filter((o) => o.kind === "Ingress") as Obj[];
  expect(full?.spec.ingressClassName).toBe(v.className);
  expect(full?.spec.tls).toEqual(v.tls);
  const dash = full?.spec.rules.find((r: Obj) => r.host === v.dashboardHost);
  expect(dash.http.paths).toEqual([
    {
      path: "/",
      pathType: "Prefix",
      backend: { service: { name: serviceOf(objs, "dashboard").metadata.name, port: { name: "http" } } },
    },
  ]);
  // The named port exists on each Service the rules point at.
  for (const c of ["ingress", "dashboard"])
    expect(serviceOf(objs, c).spec.ports.map((p: Obj) => p.name)).toContain("http");
  // And /metrics is not behind it: the dashboard serves it on METRICS_PORT, a port of its own.
  const container = (deployments(objs).find((d) => componentOf(d) === "dashboard") as Obj).spec.template.spec
    .containers[0];
  const metricsPort = Number(container.env.find((e: Obj) => e.name === "METRICS_PORT").value);
  expect(container.ports.find((p: Obj) => p.name === "metrics").containerPort).toBe(metricsPort);
  expect(container.ports.find((p: Obj) => p.name === "http").containerPort).not.toBe(metricsPort);
});

test("otel: no OTEL_* variable without an endpoint; with one, the sampler, protocol and pod/namespace attributes", () => {
  const names = (objs: Obj[]) =>
    deployments(objs).flatMap((d) => d.spec.template.spec.containers[0].env.map((e: Obj) => e.name as string));
  expect(names(render("minimal")).filter((n) => OTEL_ENV.test(n) || POD_FIELDS.includes(n))).toEqual([]);
  const objs = render("tracing");
  const otel = profileValues("tracing").otel as Obj;
  const workloads = [...deployments(objs), ...objs.filter((o) => o.kind === "Job")];
  expect(workloads.length).toBe(4);
  for (const w of workloads) {
    const env = Object.fromEntries(
      w.spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e.value ?? e.valueFrom]),
    );
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(otel.endpoint);
    expect(env.OTEL_EXPORTER_OTLP_PROTOCOL).toBe(otel.protocol);
    expect(env.OTEL_TRACES_SAMPLER).toBe(otel.sampler);
    expect(env.OTEL_TRACES_SAMPLER_ARG).toBe(otel.samplerArg);
    expect(env.K8S_POD_NAME).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
    expect(env.K8S_NAMESPACE_NAME).toEqual({ fieldRef: { fieldPath: "metadata.namespace" } });
    // Kubernetes expands $(VAR) only for variables defined earlier in the list.
    const order = w.spec.template.spec.containers[0].env.map((e: Obj) => e.name);
    expect(order.indexOf("K8S_POD_NAME")).toBeLessThan(order.indexOf("OTEL_RESOURCE_ATTRIBUTES"));
    expect(String(env.OTEL_RESOURCE_ATTRIBUTES).split(",")).toEqual([
      "k8s.pod.name=$(K8S_POD_NAME)",
      "k8s.namespace.name=$(K8S_NAMESPACE_NAME)",
      ...Object.entries(otel.resourceAttributes).map(([k, val]) => `${k}=${val}`),
    ]);
  }
});

test("tls: each workload mounts the CA (and client key pair) of the connections it makes, and names them in its env", () => {
  // Which connections each workload makes (the dashboard's NATS one, for the sources registry,
  // dead letters, stats and erasure, is opened when first needed).
  const connects: Record<string, string[]> = {
    ingress: ["nats", "redis"],
    projector: ["nats", "postgres", "redis"],
    dashboard: ["nats", "postgres", "redis"],
    provision: ["nats", "postgres"],
  };
  const prefix: Record<string, string> = { nats: "NATS", postgres: "DATABASE", redis: "REDIS" };
  const tls = profileValues("production").tls as Obj;
  const objs = render("production");
  const workloads = [...deployments(objs), ...objs.filter((o) => o.kind === "Job")];
  expect(workloads.map(componentOf).sort()).toEqual(Object.keys(connects).sort());
  for (const w of workloads) {
    const pod = w.spec.template.spec;
    const c = pod.containers[0];
    const env = Object.fromEntries(c.env.map((e: Obj) => [e.name, e.value]));
    expect(env.TLS_MIN_VERSION).toBe(tls.minVersion);
    expect(env.ALLOW_INSECURE_CONNECTIONS).toBe("false");
    const tlsVolumes = pod.volumes.filter((v: Obj) => v.secret);
    expect(tlsVolumes.map((v: Obj) => v.secret.secretName).sort()).toEqual(
      connects[componentOf(w)]!.map((conn) => tls[conn].secretName).sort(),
    );
    for (const conn of ["nats", "postgres", "redis"]) {
      const made = connects[componentOf(w)]!.includes(conn);
      const vol = tlsVolumes.find((v: Obj) => v.secret.secretName === tls[conn].secretName);
      const mount = c.volumeMounts.find((m: Obj) => m.name === vol?.name);
      const files = tls[conn].clientCertificate ? ["ca.crt", "tls.crt", "tls.key"] : ["ca.crt"];
      if (!made) {
        expect(vol, `${componentOf(w)} gets no ${conn} files`).toBeUndefined();
        expect(env[`${prefix[conn]}_TLS_CA`]).toBeUndefined();
        continue;
      }
      // Only the keys it uses, readable by the pod's group (fsGroup), read-only.
      expect(vol.secret.items.map((i: Obj) => i.key)).toEqual(files);
      expect(vol.secret.defaultMode).toBe(0o440);
      expect(mount.readOnly).toBe(true);
      expect(env[`${prefix[conn]}_TLS_CA`]).toBe(`${mount.mountPath}/ca.crt`);
      expect(env[`${prefix[conn]}_TLS_CERT`]).toBe(
        tls[conn].clientCertificate ? `${mount.mountPath}/tls.crt` : undefined,
      );
      expect(env[`${prefix[conn]}_TLS_KEY`]).toBe(
        tls[conn].clientCertificate ? `${mount.mountPath}/tls.key` : undefined,
      );
    }
  }
  // Without tls.*.secretName nothing is mounted, and plain connections are allowed only on request.
  for (const w of deployments(render("minimal"))) {
    expect(w.spec.template.spec.volumes.filter((v: Obj) => v.secret)).toEqual([]);
    const env = w.spec.template.spec.containers[0].env;
    expect(env.find((e: Obj) => e.name === "ALLOW_INSECURE_CONNECTIONS").value).toBe(
      String(profileValues("minimal").tls.allowInsecureConnections),
    );
  }
});

test("dashboard.oidc: the OIDC_* variables the dashboard reads, only when configured", () => {
  const oidcEnv = (objs: Obj[]) =>
    Object.fromEntries(
      deployments(objs)
        .find((d) => componentOf(d) === "dashboard")!
        .spec.template.spec.containers[0].env.filter((e: Obj) => e.name.startsWith("OIDC_"))
        .map((e: Obj) => [e.name, e.value]),
    );
  expect(oidcEnv(render("minimal"))).toEqual({});
  const oidc = (profileValues("production").dashboard as Obj).oidc;
  const env = oidcEnv(render("production"));
  expect(env).toEqual({
    OIDC_ISSUER: oidc.issuer,
    OIDC_JWKS_URL: oidc.jwksUrl,
    OIDC_AUDIENCE: oidc.audience,
    OIDC_ROLE_CLAIM: oidc.roleClaim,
    OIDC_ROLE_MAP: expect.any(String),
    OIDC_CLIENT_ID: oidc.clientId,
    OIDC_SCOPES: oidc.scopes,
    OIDC_PROVIDER_NAME: oidc.providerName,
  });
  // Names the dashboard reads, and the map in its "value=role" form.
  const read = new Set(Object.values(dashboardConfigSpec).map((e) => e.name));
  for (const name of Object.keys(env)) expect(read.has(name)).toBe(true);
  expect(env.OIDC_ROLE_MAP.split(",").sort()).toEqual(
    Object.entries(oidc.roleMap as Record<string, string>)
      .map(([k, role]) => `${k}=${role}`)
      .sort(),
  );
});

test("projector: BATCH_DELAY_MS, RETRY_DELAY_MS, ACK_WAIT_SECONDS (on the provision Job too) and RAW_EVENT_RETENTION_MONTHS only when set (else the defaults)", () => {
  const OPTIONAL = ["BATCH_DELAY_MS", "RETRY_DELAY_MS", "ACK_WAIT_SECONDS", "RAW_EVENT_RETENTION_MONTHS"];
  const projectorEnv = (objs: Obj[]) =>
    Object.fromEntries(
      deployments(objs)
        .find((d) => componentOf(d) === "projector")!
        .spec.template.spec.containers[0].env.filter((e: Obj) => OPTIONAL.includes(e.name))
        .map((e: Obj) => [e.name, e.value]),
    );
  expect(projectorEnv(render("minimal"))).toEqual({});
  const set = ["batchDelayMs=50", "retryDelayMs=10", "ackWaitSeconds=45", "rawEventRetentionMonths=0"];
  expect(
    projectorEnv(
      render(
        "minimal",
        set.flatMap((v) => ["--set", `projector.${v}`]),
      ),
    ),
  ).toEqual({
    BATCH_DELAY_MS: "50",
    RETRY_DELAY_MS: "10",
    ACK_WAIT_SECONDS: "45",
    RAW_EVENT_RETENTION_MONTHS: "0",
  });
  // Names the projector reads.
  const read = new Set(Object.values(projectorConfigSpec).map((e) => e.name));
  for (const name of OPTIONAL) expect(read.has(name)).toBe(true);
  // The ack wait is the consumer's: the provision Job sets it (the projector provisions only without the Job).
  const job = render("minimal", ["--set", "projector.ackWaitSeconds=45"]).find((o) => o.kind === "Job") as Obj;
  expect(job.spec.template.spec.containers[0].env).toContainEqual({ name: "ACK_WAIT_SECONDS", value: "45" });
  expect(
    (render("minimal").find((o) => o.kind === "Job") as Obj).spec.template.spec.containers[0].env.map(
      (e: Obj) => e.name,
    ),
  ).not.toContain("ACK_WAIT_SECONDS");
  // Out of the projector's range: refused by the chart's schema, not at the pod's start.
  expect(
    run(["template", "hl", CHART, "-f", join(CHART, "ci", "minimal.yaml"), "--set", "projector.ackWaitSeconds=0"]).code,
  ).not.toBe(0);
});

test("the dashboard needs where form tools reach the ingress: without publicWebhookBaseUrl or an Ingress host the chart says so", () => {
  const t = run([
    "template",
    "hl",
    CHART,
    "-f",
    join(CHART, "ci/minimal.yaml"),
    "--set",
    "dashboard.publicWebhookBaseUrl=",
  ]);
  expect(t.code).not.toBe(0);
  expect(t.err).toContain(
    "dashboard.publicWebhookBaseUrl (or httpIngress.enabled with httpIngress.webhooksHost) is required",
  );
});

describe("values.schema.json refuses bad values", () => {
  const cases: [string, string[]][] = [
    ["a wrong type", ["--set", "ingress.port=eighty"]],
    ["a wrong type (boolean)", ["--set", "keda.enabled=maybe"]],
    ["an unknown top-level key", ["--set", "replicaCount=3"]],
    ["an unknown nested key", ["--set", "projector.batchSise=100"]],
    ["an unknown key in keda.fallback", ["--set", "keda.fallback.replica=2"]],
    ["a sampler ratio above 1", ["--set-string", "otel.samplerArg=1.5"]],
    ["an unknown sampler", ["--set", "otel.sampler=sometimes"]],
    ["a resource attribute that would break the list", ["--set-string", "otel.resourceAttributes.team=a\\,b=c"]],
    ["an Ingress without a webhook host", ["--set", "httpIngress.enabled=true", "--set", "httpIngress.webhooksHost="]],
    ["an unknown key in keda.triggerAuthentication", ["--set", "keda.triggerAuthentication.secret=x"]],
    ["a TLS version the services refuse", ["--set", "tls.minVersion=TLSv1.1"]],
    ["an unknown key in tls.postgres", ["--set", "tls.postgres.caFile=/x"]],
    ["a JWKS URL without TLS", ["--set", "dashboard.oidc.jwksUrl=http://idp.example/keys"]],
    ["an OIDC role map to an unknown role", ["--set", "dashboard.oidc.roleMap.staff=owner"]],
    ["OIDC scopes without openid", ["--set", "dashboard.oidc.scopes=profile email"]],
    ["an OIDC redirect URI without TLS", ["--set", "dashboard.oidc.redirectUri=http://dash.example/"]],
    [
      "an inline secret in the sources file",
      [
        "--set-json",
        'sources=[{"id":"x","adapter":"heyflow","auth":{"scheme":"token","tokens":["inline-token-1234567"]}}]',
      ],
    ],
  ];
  test.each(cases)("%s", (_, args) => {
    const base = ["-f", join(CHART, "ci/minimal.yaml"), ...args];
    const t = run(["template", "hl", CHART, ...base]);
    expect(t.code).not.toBe(0);
    expect(t.err).toContain("values don't meet the specifications of the schema");
    expect(run(["lint", "--strict", CHART, ...base]).code).not.toBe(0);
  });
});
