// A real Kubernetes API server for the chart tests: etcd and kube-apiserver (pinned, built by
// ops/tools) on loopback with a static token in the group system:masters, and helm (also from
// ops/tools) pointed at it through a kubeconfig. No kubelet or controller-manager runs: pods
// never start and namespaces never finish deleting.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { freePort } from "../integration/harness.ts";

export const ROOT = join(import.meta.dir, "..", "..");

/** Runs a command to completion; its stdout, trimmed. Throws with its stderr when it fails. */
export function sh(cmd: string[], cwd = ROOT): string {
  const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${p.exitCode}: ${p.stderr.toString()}`);
  return p.stdout.toString().trim();
}

/** The paths of pinned tools, built on first use and cached by ops/tools. */
export function tools(...names: string[]): string[] {
  return sh([join(ROOT, "ops/tools"), ...names]).split("\n");
}

interface ApiResponse {
  status: number;
  json: any;
}

export interface ApiServer {
  /** https://127.0.0.1:<port> (a self-signed certificate). */
  url: string;
  kubeconfig: string;
  /** The bearer token of the kubeconfig's user (system:masters). */
  token: string;
  /** Logs (etcd.log, kube-apiserver.log) and data; removed by stop(). */
  dir: string;
  api(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  /** helm with --kubeconfig pointed at this server: its exit code and combined output. */
  helm(args: string[]): { code: number; out: string };
  /** Starts a process logging to `log` in dir; stop() kills it. */
  spawn(cmd: string[], log: string, env?: Record<string, string>): Bun.Subprocess;
  /**
   * Polls `check` every 200 ms until it is true; fails after `seconds`, naming dir, or at once
   * when `watch.died` names why something the wait depends on is gone (`watch.log` is added to
   * either error).
   */
  until(
    what: string,
    check: () => Promise<boolean>,
    seconds?: number,
    watch?: { died?: () => string | null; log?: () => string },
  ): Promise<void>;
  stop(): Promise<void>;
}

export async function startApiServer(): Promise<ApiServer> {
  const [helm, apiserver, etcd] = tools("helm", "kube-apiserver", "etcd") as [string, string, string];
  const dir = mkdtempSync(join(tmpdir(), "hookline-apiserver-"));
  const token = `hookline-test-${crypto.randomUUID()}`;
  const procs: Bun.Subprocess[] = [];
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const url = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = join(dir, "kubeconfig");

  const k: ApiServer = {
    url,
    kubeconfig,
    token,
    dir,
    async api(method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        tls: { rejectUnauthorized: false },
      });
      const text = await res.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {}
      return { status: res.status, json };
    },
    helm(args) {
      const p = Bun.spawnSync([helm, "--kubeconfig", kubeconfig, ...args], {
        cwd: ROOT,
        stdout: "pipe",
        stderr: "pipe",
      });
      return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
    },
    spawn(cmd, log, env) {
      const out = Bun.file(join(dir, log));
      const p = Bun.spawn(cmd, { env: env && { ...process.env, ...env }, stdout: out, stderr: out });
      procs.push(p);
      return p;
    },
    async until(what, check, seconds = 60, watch = {}) {
      const log = () => (watch.log ? `\n${watch.log()}` : "");
      const end = Date.now() + seconds * 1000;
      while (Date.now() < end) {
        const died = watch.died?.();
        if (died) throw new Error(`${died} while waiting for ${what}${log()}`);
        if (await check().catch(() => false)) return;
        await Bun.sleep(200);
      }
      throw new Error(`timed out waiting for ${what} (logs in ${dir})${log()}`);
    },
    async stop() {
      // Their data is thrown away: no need to wait for a graceful shutdown.
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(procs.map((p) => p.exited));
      rmSync(dir, { recursive: true, force: true });
    },
  };

  sh(["openssl", "genrsa", "-out", join(dir, "sa.key"), "2048"]);
  sh(["openssl", "rsa", "-in", join(dir, "sa.key"), "-pubout", "-out", join(dir, "sa.pub")]);
  writeFileSync(join(dir, "tokens.csv"), `${token},hookline-test,hookline-test,"system:masters"\n`);
  k.spawn(
    [
      etcd,
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
  k.spawn(
    [
      apiserver,
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
  await k.until("kube-apiserver /readyz", async () => (await k.api("GET", "/readyz")).status === 200, 90);

  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "test", cluster: { server: url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "test", user: { token } }],
      contexts: [{ name: "test", context: { cluster: "test", user: "test" } }],
      "current-context": "test",
    }),
  );
  return k;
}

/**
 * Applies KEDA's CRDs from the release ops/tools builds the operator from (the version
 * ops/tools-src/keda/go.mod requires), then waits for the ScaledObject CRD to be served.
 */
export async function applyKedaCrds(k: ApiServer): Promise<void> {
  const mod = JSON.parse(sh(["go", "mod", "download", "-json", "github.com/kedacore/keda/v2"], KEDA_SRC));
  const bases = join(mod.Dir as string, "config/crd/bases");
  for (const f of readdirSync(bases).filter((f) => f.endsWith(".yaml"))) {
    const r = await k.api(
      "POST",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      parse(readFileSync(join(bases, f), "utf8")),
    );
    if (r.status !== 201 && r.status !== 409) throw new Error(`creating the CRD in ${f}: HTTP ${r.status}`);
  }
  await k.until("the ScaledObject CRD to be established", async () => {
    const r = await k.api("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh");
    return r.json?.status?.conditions?.some((c: any) => c.type === "Established" && c.status === "True") ?? false;
  });
}

/** The wrapper module ops/tools builds KEDA's operator from; it pins KEDA's version. */
const KEDA_SRC = join(ROOT, "ops/tools-src/keda");
