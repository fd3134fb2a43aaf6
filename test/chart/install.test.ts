// The chart installed into a real API server: etcd and kube-apiserver (pinned, built by
// ops/tools) on loopback with a static token, KEDA's CRDs (from the keda Go module) applied,
// then for every profile `helm install`, `helm upgrade` and `helm uninstall` into a fresh
// namespace (helm v4: server-side apply with strict field validation, so a misspelled field
// is refused). No kubelet runs: pods never start, so nothing waits for them; namespaces never
// finish deleting, so each install uses a new one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";

const ROOT = join(import.meta.dir, "..", "..");
const CHART = join(ROOT, "helm/hookline");
const KEDA_MODULE = "github.com/kedacore/keda/v2@v2.21.0";
const PROFILES = readdirSync(join(CHART, "ci"))
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => f.replace(/\.yaml$/, ""));
const TOKEN = `hookline-test-${crypto.randomUUID()}`;

const dir = mkdtempSync(join(tmpdir(), "hookline-apiserver-"));
const procs: Bun.Subprocess[] = [];
let helm = "";
let server = "";
let kubeconfig = "";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function sh(cmd: string[], cwd = ROOT): string {
  const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${p.exitCode}: ${p.stderr.toString()}`);
  return p.stdout.toString().trim();
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    tls: { rejectUnauthorized: false },
  });
  const text = await res.text();
  let json: any = text;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json };
}

async function until(what: string, check: () => Promise<boolean>, seconds = 60): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await Bun.sleep(200);
  }
  throw new Error(`timed out waiting for ${what} (logs in ${dir})`);
}

function start(cmd: string[], log: string): void {
  const out = Bun.file(join(dir, log));
  procs.push(Bun.spawn(cmd, { stdout: out, stderr: out }));
}

function helmRun(args: string[]): { code: number; out: string } {
  const p = Bun.spawnSync([helm, "--kubeconfig", kubeconfig, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
}

beforeAll(async () => {
  const [h, apiserver, etcd] = sh([join(ROOT, "ops/tools"), "helm", "kube-apiserver", "etcd"]).split("\n");
  helm = h as string;
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  sh(["openssl", "genrsa", "-out", join(dir, "sa.key"), "2048"]);
  sh(["openssl", "rsa", "-in", join(dir, "sa.key"), "-pubout", "-out", join(dir, "sa.pub")]);
  writeFileSync(join(dir, "tokens.csv"), `${TOKEN},hookline-test,hookline-test,"system:masters"\n`);
  start(
    [
      etcd as string,
      "--name=test",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=test=http://127.0.0.1:${peerPort}`,
      "--log-level=warn",
    ],
    "etcd.log",
  );
  start(
    [
      apiserver as string,
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, "certs")}`,
      `--token-auth-file=${join(dir, "tokens.csv")}`,
      `--service-account-key-file=${join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${join(dir, "sa.key")}`,
      "--service-account-issuer=https://kubernetes.default.svc",
      "--service-cluster-ip-range=10.96.0.0/16",
      "--endpoint-reconciler-type=none",
      "--disable-admission-plugins=ServiceAccount",
      "--authorization-mode=RBAC",
    ],
    "kube-apiserver.log",
  );
  server = `https://127.0.0.1:${apiPort}`;
  await until("kube-apiserver /readyz", async () => (await api("GET", "/readyz")).status === 200, 90);

  kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "test", cluster: { server, "insecure-skip-tls-verify": true } }],
      users: [{ name: "test", user: { token: TOKEN } }],
      contexts: [{ name: "test", context: { cluster: "test", user: "test" } }],
      "current-context": "test",
    }),
  );

  // KEDA's CRDs, from the same release's Go module.
  const keda = JSON.parse(sh(["go", "mod", "download", "-json", KEDA_MODULE], tmpdir())).Dir as string;
  const bases = join(keda, "config/crd/bases");
  for (const f of readdirSync(bases).filter((f) => f.endsWith(".yaml"))) {
    const r = await api(
      "POST",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      parse(readFileSync(join(bases, f), "utf8")),
    );
    expect([201, 409]).toContain(r.status);
  }
  await until("the ScaledObject CRD to be established", async () => {
    const r = await api("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh");
    return r.json?.status?.conditions?.some((c: any) => c.type === "Established" && c.status === "True") ?? false;
  });
}, 900_000);

afterAll(async () => {
  // Their data is thrown away: no need to wait for a graceful shutdown.
  for (const p of procs) p.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited));
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe.each(PROFILES)("profile %s in a real API server", (profile) => {
  test("helm install, upgrade and uninstall are clean; the objects read back", async () => {
    const ns = `hl-${profile}-${Date.now().toString(36)}`;
    // No Prometheus Operator CRDs in this API server: chart.test.ts checks the ServiceMonitors.
    const values = ["-f", join(CHART, "ci", `${profile}.yaml`), "--set", "serviceMonitor.enabled=false"];
    // --no-hooks: without a kubelet the provision Job never completes, and helm waits for a
    // hook Job; chart.test.ts checks the Job as rendered.
    const install = helmRun(["install", "hl", CHART, "-n", ns, "--create-namespace", "--no-hooks", ...values]);
    expect(install.code, install.out).toBe(0);

    const deps = await api("GET", `/apis/apps/v1/namespaces/${ns}/deployments`);
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
    const cm = await api("GET", `/api/v1/namespaces/${ns}/configmaps/hl-hookline-sources`);
    expect(cm.status).toBe(200);
    const scaled = await api("GET", `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`);
    const kedaOn = parse(readFileSync(join(CHART, "ci", `${profile}.yaml`), "utf8")).keda?.enabled === true;
    expect(scaled.json.items.length).toBe(kedaOn ? 1 : 0);

    const upgrade = helmRun(["upgrade", "hl", CHART, "-n", ns, "--no-hooks", ...values, "--set", "logLevel=debug"]);
    expect(upgrade.code, upgrade.out).toBe(0);
    const ingress = await api("GET", `/apis/apps/v1/namespaces/${ns}/deployments/hl-hookline-ingress`);
    const env = ingress.json.spec.template.spec.containers[0].env;
    expect(env.find((e: any) => e.name === "LOG_LEVEL").value).toBe("debug");

    const uninstall = helmRun(["uninstall", "hl", "-n", ns]);
    expect(uninstall.code, uninstall.out).toBe(0);
    expect((await api("GET", `/apis/apps/v1/namespaces/${ns}/deployments`)).json.items).toEqual([]);
  }, 120_000);
});
