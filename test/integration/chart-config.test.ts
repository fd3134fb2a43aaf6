// The chart's configuration boots the services: for every profile in helm/hookline/ci, the
// chart is rendered (`helm template`, hooks included) and each workload is run from the image
// (ops/image, podman) with exactly what its pod spec says: command, env (values, Secret keys,
// downward-API fields, $(VAR) expansion as the kubelet does it), the sources ConfigMap mounted
// at its path, an emptyDir as tmpfs, the user, read-only root and dropped capabilities. The
// host names in the rendered URLs (postgres, redis-master, nats, the collector) are mapped to
// loopback, where the test's Postgres, Redis and nats-server run. The provision hook Job runs
// first; then ingress, projector and dashboard must become ready and a signed HeyFlow webhook
// must become a patient in the dashboard API. This catches drift between the chart and the code.
//
// A profile with tls.<conn>.secretName (production) gets its own NATS, Postgres and Redis that
// require TLS (Postgres a client certificate too), certified for the chart's host names by a
// throwaway CA, and the Secrets those volumes name hold that CA and client key pair.
//
// What differs from a cluster, and why: the services' ports and the URLs' ports, database and
// credentials are set with --set (loopback is shared, and the chart's HOOKLINE_ENV=production
// refuses the dev database password, so a role with a random password is created); a
// profile's stream.replicas above 1 is set to 1 (one nats-server here); a collector endpoint
// is pointed at the test's OTLP receiver over http/json with every trace sampled.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { newKeyText } from "../../shared/crypto/keyring.ts";
import { basicAuthHeader } from "../../shared/crypto/token.ts";
import {
  DATABASE_URL,
  freePort,
  makeTestPki,
  type NatsServer,
  type PostgresServer,
  type RedisServer,
  ROOT,
  startNats,
  startOtlpReceiver,
  startPostgresServer,
  startRedisServer,
  type TestPki,
  waitFor,
} from "./harness.ts";

const CHART = join(ROOT, "helm/hookline");
const PROFILES = readdirSync(join(CHART, "ci"))
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => f.replace(/\.yaml$/, ""));
const RUNC = Bun.which("runc") ?? "runc";
const PODMAN = ["podman", "--storage-driver=vfs", "--runtime", RUNC, "--cgroup-manager=cgroupfs"];
const IMAGE = `localhost/hookline:chart-test-${process.pid}`;
const NAMESPACE = "hookline";
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/15";

type Obj = Record<string, any>;
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Obj;
}

const dir = mkdtempSync(join(tmpdir(), "hookline-chart-config-"));
const containers: string[] = [];
let helm = "";
let nats: NatsServer;
let collector: Awaited<ReturnType<typeof startOtlpReceiver>>;

function sh(argv: string[]): string {
  const p = Bun.spawnSync(argv, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${p.exitCode}: ${p.stderr.toString()}`);
  return p.stdout.toString().trim();
}

/** SQL as the Postgres superuser (ops/lib.sh psql_admin, as ops/up and the bench do). */
function psqlAdmin(db: string, sql: string): void {
  sh(["bash", "-c", `source ops/lib.sh; psql_admin -d "$1" -c "$2" >/dev/null`, "psql", db, sql]);
}

/** The value of one env var as the kubelet resolves it. */
function resolveVar(v: EnvVar, resolved: Record<string, string>, pod: Obj, secrets: Map<string, Obj>): string {
  if (v.value !== undefined)
    // $(NAME) expands to an earlier variable; $$ escapes; an unknown reference stays as written.
    return v.value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) =>
      name === undefined ? "$" : (resolved[name] ?? m),
    );
  const from = v.valueFrom ?? {};
  if (from.secretKeyRef) {
    const value = secrets.get(from.secretKeyRef.name)?.[from.secretKeyRef.key];
    if (value === undefined)
      throw new Error(`${v.name}: key ${from.secretKeyRef.key} of Secret ${from.secretKeyRef.name} does not exist`);
    return String(value);
  }
  if (from.fieldRef?.fieldPath === "metadata.name") return pod.name;
  if (from.fieldRef?.fieldPath === "metadata.namespace") return pod.namespace;
  throw new Error(`${v.name}: unsupported valueFrom ${JSON.stringify(from)}`);
}

function resolveEnv(env: EnvVar[], pod: Obj, secrets: Map<string, Obj>): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const v of env) resolved[v.name] = resolveVar(v, resolved, pod, secrets);
  return resolved;
}

/** Host names in the URLs of an env (comma-separated lists too), to be mapped to loopback. */
function hostNames(env: Record<string, string>): Set<string> {
  const hosts = new Set<string>();
  for (const value of Object.values(env))
    for (const part of value.split(",")) {
      try {
        const host = new URL(part.trim()).hostname;
        if (host && !/^[\d.]+$/.test(host) && host !== "localhost") hosts.add(host);
      } catch {}
    }
  return hosts;
}

interface Workload {
  kind: string;
  name: string;
  pod: Obj;
}

/** The podman argv that runs `w`'s first container as its pod spec says. */
function podmanArgs(w: Workload, configMaps: Map<string, Obj>, secrets: Map<string, Obj>, id: string): string[] {
  const spec = w.pod.spec;
  const c = spec.containers[0];
  const pod = { name: `${w.name}-${id}`, namespace: NAMESPACE };
  const env = resolveEnv(c.env ?? [], pod, secrets);
  const sc = { ...spec.securityContext, ...c.securityContext };
  const args = [
    "run",
    "--rm",
    `--name=${pod.name}`,
    "--network=host",
    "--ulimit=nofile=20000:20000",
    "--ulimit=nproc=1000:1000",
    `--user=${sc.runAsUser}:${sc.runAsGroup}`,
    `--entrypoint=${JSON.stringify(c.command)}`,
  ];
  if (sc.readOnlyRootFilesystem) args.push("--read-only");
  if (sc.allowPrivilegeEscalation === false) args.push("--security-opt=no-new-privileges");
  for (const cap of sc.capabilities?.drop ?? []) args.push(`--cap-drop=${cap}`);
  for (const host of hostNames(env)) args.push(`--add-host=${host}:127.0.0.1`);
  for (const [name, value] of Object.entries(env)) args.push(`--env=${name}=${value}`);
  for (const m of c.volumeMounts ?? []) {
    const vol = spec.volumes.find((v: Obj) => v.name === m.name);
    if (vol.emptyDir) {
      // tmpfs takes k/m/g where Kubernetes writes Ki/Mi/Gi.
      const size = String(vol.emptyDir.sizeLimit ?? "").replace(/([KMG])i$/, (_, u: string) => u.toLowerCase());
      args.push(`--tmpfs=${m.mountPath}:rw,mode=1777${size ? `,size=${size}` : ""}`);
    } else if (vol.secret) {
      // As the kubelet writes a Secret volume: the items asked for, owned by the pod's fsGroup.
      const data = secrets.get(vol.secret.secretName);
      if (!data) throw new Error(`${w.name}: Secret ${vol.secret.secretName} does not exist`);
      const hostDir = join(dir, `${pod.name}-${m.name}`);
      mkdirSync(hostDir, { recursive: true, mode: 0o755 });
      const items = vol.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const { key, path } of items) {
        if (data[key] === undefined)
          throw new Error(`${w.name}: key ${key} of Secret ${vol.secret.secretName} does not exist`);
        const file = join(hostDir, path);
        writeFileSync(file, String(data[key]));
        chownSync(file, 0, spec.securityContext.fsGroup);
        chmodSync(file, vol.secret.defaultMode ?? 0o644);
      }
      args.push(`--volume=${hostDir}:${m.mountPath}:ro`);
    } else if (vol.configMap) {
      const data = configMaps.get(vol.configMap.name)?.data;
      if (!data) throw new Error(`${w.name}: ConfigMap ${vol.configMap.name} is not rendered`);
      const hostDir = join(dir, `${pod.name}-${m.name}`);
      mkdirSync(hostDir, { recursive: true });
      for (const [file, content] of Object.entries(data)) writeFileSync(join(hostDir, file), String(content));
      args.push(`--volume=${hostDir}:${m.mountPath}:${m.readOnly ? "ro" : "rw"}`);
    } else throw new Error(`${w.name}: unsupported volume ${JSON.stringify(vol)}`);
  }
  containers.push(pod.name);
  return [...PODMAN, ...args, IMAGE];
}

function start(argv: string[], log: string): Bun.Subprocess {
  const out = Bun.file(join(dir, log));
  return Bun.spawn(argv, { stdout: out, stderr: out });
}

const logOf = (name: string) => {
  try {
    return readFileSync(join(dir, name), "utf8");
  } catch {
    return "";
  }
};

beforeAll(async () => {
  helm = sh([join(ROOT, "ops/tools"), "helm"]);
  sh([join(ROOT, "ops/image"), IMAGE]);
  nats = await startNats();
  collector = await startOtlpReceiver();
}, 600_000);

afterAll(async () => {
  if (containers.length) Bun.spawnSync([...PODMAN, "rm", "--force", "--ignore", ...containers]);
  Bun.spawnSync([...PODMAN, "rmi", "--force", "--ignore", IMAGE]);
  await nats?.dispose();
  collector?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe.each(PROFILES)("profile %s", (profile) => {
  const values = parse(readFileSync(join(CHART, "ci", `${profile}.yaml`), "utf8")) as Obj;
  const id = `${profile.replace(/\W/g, "")}${process.pid}`;
  const role = `hl_chart_${id}`;
  const password = crypto.randomUUID().replaceAll("-", "");
  const db = new URL(DATABASE_URL);
  const database = db.pathname.slice(1);
  const procs: Bun.Subprocess[] = [];
  // A profile with tls.<conn>.secretName gets a server of its own that requires TLS (with client
  // certificates where clientCertificate is on), certified for the chart's host names.
  const tlsOf = (conn: string): Obj | undefined => (values.tls?.[conn]?.secretName ? values.tls[conn] : undefined);
  let pki: TestPki | undefined;
  let tlsNats: NatsServer | undefined;
  let tlsPostgres: PostgresServer | undefined;
  let tlsRedis: RedisServer | undefined;

  afterAll(async () => {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => p.exited));
    if (!tlsPostgres) psqlAdmin(database, `drop schema if exists ${role} cascade; drop role if exists ${role}`);
    await Promise.all([tlsNats?.dispose(), tlsPostgres?.stop(), tlsRedis?.stop()]);
    pki?.dispose();
  }, 60_000);

  test("the provision Job and the three services start from the rendered chart; a webhook becomes a patient", async () => {
    const tlsSecrets = new Map<string, Obj>();
    if (["nats", "postgres", "redis"].some(tlsOf)) {
      pki = makeTestPki(["nats", "postgres", "redis-master"]);
      const serverTls = (conn: string) => ({
        cert: pki!.serverCert,
        key: pki!.serverKey,
        clientCa: tlsOf(conn)?.clientCertificate ? pki!.ca : undefined,
      });
      if (tlsOf("nats")) tlsNats = await startNats({ tls: serverTls("nats") });
      if (tlsOf("postgres")) tlsPostgres = await startPostgresServer({ tls: serverTls("postgres") });
      if (tlsOf("redis")) tlsRedis = await startRedisServer({ tls: serverTls("redis") });
      for (const conn of ["nats", "postgres", "redis"].filter(tlsOf))
        tlsSecrets.set(tlsOf(conn)!.secretName, {
          "ca.crt": readFileSync(pki.ca, "utf8"),
          "tls.crt": readFileSync(pki.clientCert, "utf8"),
          "tls.key": readFileSync(pki.clientKey, "utf8"),
        });
    }
    let databaseUrl: string;
    if (tlsPostgres) {
      const url = new URL(tlsPostgres.url);
      databaseUrl = `postgres://${url.username}:${url.password}@postgres:${url.port}/hookline?sslmode=verify-full`;
    } else {
      // A role with a random password owning a fresh schema: HOOKLINE_ENV=production (set by the
      // chart) refuses the dev password.
      psqlAdmin(
        database,
        `drop schema if exists ${role} cascade; drop role if exists ${role}; create role ${role} login password '${password}'; create schema ${role} authorization ${role}`,
      );
      databaseUrl = `postgres://${role}:${password}@postgres:${db.port || 5432}/${database}?search_path=${role}`;
    }
    const redis = new URL(tlsRedis?.url ?? REDIS_URL);
    const redisUrl = tlsRedis
      ? `rediss://redis-master:${redis.port}`
      : `redis://redis-master:${redis.port || 6379}${redis.pathname}`;
    const natsServer = tlsNats ?? nats;
    const natsUrl = `${tlsNats ? "tls" : "nats"}://nats:${new URL(natsServer.url).port}`;
    const ports = { ingress: await freePort(), projector: await freePort(), dashboard: await freePort() };

    const set = [
      `ingress.port=${ports.ingress}`,
      `projector.port=${ports.projector}`,
      `dashboard.port=${ports.dashboard}`,
    ];
    if ((values.stream?.replicas ?? 1) > 1) set.push("stream.replicas=1");
    if (values.otel?.endpoint) {
      const host = new URL(values.otel.endpoint).hostname;
      set.push(`otel.endpoint=http://${host}:${new URL(collector.endpoint).port}`, "otel.protocol=http/json");
    }
    const setString = [`nats.url=${natsUrl}`, `secrets.databaseUrl=${databaseUrl}`, `secrets.redisUrl=${redisUrl}`];
    if (values.otel?.endpoint) setString.push("otel.samplerArg=1");
    const rendered = sh([
      helm,
      "template",
      "hl",
      CHART,
      "--namespace",
      NAMESPACE,
      "-f",
      join(CHART, "ci", `${profile}.yaml`),
      ...set.flatMap((s) => ["--set", s]),
      ...setString.flatMap((s) => ["--set-string", s]),
    ]);
    const objs = parseAllDocuments(rendered)
      .map((d) => d.toJS() as Obj | null)
      .filter((o): o is Obj => o !== null);

    // Secrets as the API server would hold them; an existingSecret is made here, as its owner would.
    const secrets = new Map<string, Obj>([
      ...objs.filter((o) => o.kind === "Secret").map((o): [string, Obj] => [o.metadata.name, o.stringData ?? {}]),
      ...tlsSecrets,
    ]);
    if (values.existingSecret) {
      const sources = Object.fromEntries(
        Object.keys(values.secrets?.sources ?? {}).map((k) => [
          k,
          k.endsWith("_SECRET")
            ? `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`
            : `token-${crypto.randomUUID()}`,
        ]),
      );
      secrets.set(values.existingSecret, {
        NATS_URL: natsUrl,
        DATABASE_URL: databaseUrl,
        REDIS_URL: redisUrl,
        DASHBOARD_API_TOKENS: `${crypto.randomUUID()}=admin`,
        HOOKLINE_KEYS: newKeyText("owner-data-1"),
        HOOKLINE_BLIND_INDEX_KEY: newKeyText("owner-index-1"),
        NATS_MONITORING_ENDPOINT: "nats:8222",
        ...sources,
      });
    }
    const configMaps = new Map<string, Obj>(
      objs.filter((o) => o.kind === "ConfigMap").map((o) => [o.metadata.name, o]),
    );
    const workloads: Workload[] = objs
      .filter((o) => o.kind === "Job" || o.kind === "Deployment")
      .map((o) => ({ kind: o.kind, name: o.metadata.name, pod: o.spec.template }));
    const component = (w: Workload) => w.pod.metadata.labels["app.kubernetes.io/component"];

    // 1. The pre-install hook Job: migrations and streams, then exit 0.
    const job = workloads.find((w) => w.kind === "Job");
    expect(job, "the provision hook Job is rendered").toBeDefined();
    const jobProc = start(podmanArgs(job!, configMaps, secrets, id), `${id}-job.log`);
    expect(await jobProc.exited, logOf(`${id}-job.log`)).toBe(0);
    const streams = await (await fetch(`${natsServer.monitorUrl}/jsz?streams=true`)).json();
    const names = streams.account_details[0].stream_detail.map((s: { name: string }) => s.name);
    expect(names).toEqual(expect.arrayContaining(["WEBHOOKS", "WEBHOOKS_DLQ"]));

    // 2. The Deployments, each ready on its port.
    const deployments = workloads.filter((w) => w.kind === "Deployment");
    expect(deployments.map(component).sort()).toEqual(["dashboard", "ingress", "projector"]);
    const envOf: Record<string, Record<string, string>> = {};
    for (const d of deployments) {
      const name = component(d) as keyof typeof ports;
      const log = `${id}-${name}.log`;
      const pod = { name: `${d.name}-${id}`, namespace: NAMESPACE };
      envOf[name] = resolveEnv(d.pod.spec.containers[0].env ?? [], pod, secrets);
      procs.push(start(podmanArgs(d, configMaps, secrets, id), log));
    }
    for (const [i, d] of deployments.entries()) {
      const name = component(d) as keyof typeof ports;
      const probe = d.pod.spec.containers[0].readinessProbe.httpGet.path;
      await withLogs(id, () =>
        waitFor(
          `${name} ready`,
          async () => {
            if (procs[i]!.exitCode !== null) throw new Error(`${name} exited with ${procs[i]!.exitCode}`);
            return (await fetch(`http://127.0.0.1:${ports[name]}${probe}`)).status === 200;
          },
          60_000,
        ),
      );
    }

    // 3. A signed HeyFlow webhook (HTTP Basic, the token from the source's Secret key) → a patient.
    const heyflow = values.sources.find((s: Obj) => s.adapter === "heyflow");
    const token = envOf.ingress![heyflow.auth.tokens[0].env]!;
    const email = `chart.${id}@example.com`;
    const res = await fetch(`http://127.0.0.1:${ports.ingress}/v1/webhooks/${heyflow.id}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuthHeader(heyflow.auth.basicUser, token) },
      body: JSON.stringify({
        flowID: "chart-flow",
        id: `hf-chart-${id}`,
        createdAt: new Date().toISOString(),
        fields: { Vorname: "Chart", Nachname: "Profile", "E-Mail": email },
      }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const adminToken = envOf.dashboard!.DASHBOARD_API_TOKENS!.split(",")[0]!.split("=")[0]!;
    const patient = await withLogs(id, () =>
      waitFor(
        "the patient in the dashboard API",
        async () => {
          const r = await fetch(`http://127.0.0.1:${ports.dashboard}/api/v1/patients?q=${encodeURIComponent(email)}`, {
            headers: { authorization: `Bearer ${adminToken}` },
          });
          const json = (await r.json()) as { items: { email: string; firstName: string }[] };
          return json.items[0];
        },
        30_000,
      ),
    );
    expect(patient).toMatchObject({ email, firstName: "Chart" });

    // 4. With a collector configured, spans arrive with the pod and namespace from the downward API.
    if (values.otel?.endpoint) {
      const span = await waitFor(
        "an ingress span",
        () =>
          collector.spans.find((s) => s.resource["k8s.pod.name"] === `${workloadName(deployments, "ingress")}-${id}`),
        30_000,
      );
      expect(span.resource).toMatchObject({ "k8s.namespace.name": NAMESPACE, ...values.otel.resourceAttributes });
    }
  }, 240_000);
});

/** Runs `fn`; a failure carries the tail of every container log of this profile. */
async function withLogs<T>(id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const logs = ["job", "ingress", "projector", "dashboard"]
      .map((n) => `--- ${n}\n${logOf(`${id}-${n}.log`).slice(-3000)}`)
      .join("\n");
    throw new Error(`${(error as Error).message}\n${logs}`, { cause: error });
  }
}

function workloadName(ws: Workload[], component: string): string {
  return ws.find((w) => w.pod.metadata.labels["app.kubernetes.io/component"] === component)!.name;
}
