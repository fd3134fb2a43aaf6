// Real parts for integration tests: a nats-server per test file (so a test can stop and
// restart it), the shared Postgres and Redis that ./ops/test starts, and the services as
// real processes (bun services/<name>/main.ts) on free ports.

import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/nats-core";
import type { Subprocess } from "bun";
import { parse as parseYaml } from "yaml";
import { clusterNodeConfig, encryptedStoreConfig, newJetStreamKey } from "../../ops/jetstream-store.ts";
import { signStandardWebhook } from "../../shared/crypto/standard-webhooks.ts";
import { createDb, type Sql } from "../../shared/db/client.ts";
import { migrate } from "../../shared/db/migrate.ts";
import { setReasonHeaders } from "../../shared/dead-letters.ts";
import { DEV_CREDENTIALS } from "../../shared/dev-credentials.ts";
import { dlqSubject, H } from "../../shared/nats.ts";
import { keyEnv } from "../keys.ts";

export const ROOT = join(import.meta.dir, "..", "..");
export const DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? "postgres://hookline:hookline@127.0.0.1:5432/hookline_test";
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1";
const DEV_SECRET = DEV_CREDENTIALS.standardWebhooksSecret;
export const ADMIN = { authorization: `Bearer ${DEV_CREDENTIALS.dashboardAdminToken}` };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    await Bun.sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

export interface NatsServer {
  url: string;
  monitorUrl: string;
  /** JetStream's store directory (encrypted at rest, as ./ops/up runs it). */
  store: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

/** A server's TLS: its certificate and key, and the CA whose client certificates it requires (mTLS). */
export interface ServerTls {
  cert: string;
  key: string;
  /** Set: clients must present a certificate from this CA. */
  clientCa?: string;
}

/**
 * A nats-server on free ports. A port freePort found free can be taken before the server binds it
 * (by another server this file starts at the same time, or a client's outgoing connection): then
 * the server exits at once, and it is started again on other ports (a CI run lost tls.test.ts to
 * a 20 s wait on such a server).
 */
export async function startNats(options: { tls?: ServerTls } = {}): Promise<NatsServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsOnce(options);
    } catch (error) {
      if (!(error instanceof NatsExited) || attempt === 3) throw error;
    }
  }
}

class NatsExited extends Error {}

async function startNatsOnce(options: { tls?: ServerTls }): Promise<NatsServer> {
  const port = await freePort();
  const monitor = await freePort();
  const store = mkdtempSync(join(tmpdir(), "hookline-nats-"));
  // JetStream encrypts its store, as ./ops/up's does (ops/lib.sh start_nats): the key comes in
  // through $JS_KEY, so it is in no file; the config file sits beside the store, not in it.
  const config = `${store}.conf`;
  writeFileSync(config, encryptedStoreConfig(store));
  const jsKey = newJetStreamKey();
  const { tls } = options;
  // With tls the server requires it (and with clientCa, client certificates); monitoring stays HTTP.
  const tlsArgs = tls
    ? [
        "--tls",
        "--tlscert",
        tls.cert,
        "--tlskey",
        tls.key,
        ...(tls.clientCa ? ["--tlscacert", tls.clientCa, "--tlsverify"] : []),
      ]
    : [];
  let proc: Subprocess | null = null;
  const server: NatsServer = {
    url: `${tls ? "tls" : "nats"}://127.0.0.1:${port}`,
    monitorUrl: `http://127.0.0.1:${monitor}`,
    store,
    async start() {
      proc = Bun.spawn(
        ["nats-server", "-c", config, "-a", "127.0.0.1", "-p", String(port), "-m", String(monitor), ...tlsArgs],
        {
          env: { ...process.env, JS_KEY: jsKey },
          stdout: "ignore",
          stderr: "ignore",
        },
      );
      // Exiting before it answers (a port taken meanwhile) ends the wait at once.
      let up = false;
      const exited = proc.exited.then((code) => {
        if (!up) throw new NatsExited(`nats-server exited with ${code} before it answered on :${port}/:${monitor}`);
      });
      exited.catch(() => {});
      await Promise.race([
        waitFor("nats-server", async () => (await fetch(`${server.monitorUrl}/healthz?js-enabled-only=true`)).ok),
        exited,
      ]);
      up = true;
    },
    async stop() {
      if (!proc) return;
      proc.kill("SIGTERM");
      await proc.exited;
      proc = null;
    },
    async dispose() {
      await server.stop();
      rmSync(store, { recursive: true, force: true });
      rmSync(config, { force: true });
    },
  };
  try {
    await server.start();
  } catch (error) {
    await server.dispose();
    throw error;
  }
  return server;
}

/** One node of a NatsCluster: a NatsServer that can also be killed and paused. */
export interface NatsNode extends NatsServer {
  /** server_name, e.g. "n2": what JetStream names a stream's leader by. */
  name: string;
  /** nats-server's own log (kept beside its config, off the store's disk): the clue when a fault does not heal. */
  logFile: string;
  /** SIGKILL: no shutdown, the store as the crash left it. start() brings it back on the same store. */
  kill(): Promise<void>;
  /** SIGSTOP: the process holds its sockets and answers nothing (a node cut off); resume() is SIGCONT. */
  pause(): void;
  resume(): void;
}

export interface NatsCluster {
  /** Every node's client URL, comma-separated: what NATS_URL takes. */
  url: string;
  nodes: NatsNode[];
  node(name: string): NatsNode;
  dispose(): Promise<void>;
}

/**
 * `size` nats-servers on loopback as one JetStream cluster: distinct server names, routes to
 * each other, each its own encrypted store (one key for all, through $JS_KEY). `storeRoot`
 * puts the stores under a given directory (e.g. a size-limited filesystem); `maxFileStore`
 * lets JetStream count on more room than that disk has.
 */
export async function startNatsCluster(
  size = 3,
  options: { storeRoot?: string; maxFileStore?: string } = {},
): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), "hookline-natscluster-"));
  const jsKey = newJetStreamKey();
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({
      client: await freePort(),
      monitor: await freePort(),
      route: await freePort(),
    })),
  );
  const nodes = ports.map((p, i): NatsNode => {
    const name = `n${i + 1}`;
    const store = join(options.storeRoot ?? dir, `${name}-store`);
    const config = join(dir, `${name}.conf`);
    const logFile = join(dir, `${name}.log`);
    writeFileSync(
      config,
      clusterNodeConfig({
        serverName: name,
        storeDir: store,
        clusterPort: p.route,
        routePorts: ports.map((q) => q.route),
        maxFileStore: options.maxFileStore,
      }),
    );
    let proc: Subprocess | null = null;
    const node: NatsNode = {
      name,
      logFile,
      url: `nats://127.0.0.1:${p.client}`,
      monitorUrl: `http://127.0.0.1:${p.monitor}`,
      store,
      async start() {
        if (proc) return;
        proc = Bun.spawn(
          [
            "nats-server",
            "-c",
            config,
            "-a",
            "127.0.0.1",
            "-p",
            String(p.client),
            "-m",
            String(p.monitor),
            "-l",
            logFile,
          ],
          { env: { ...process.env, JS_KEY: jsKey }, stdout: "ignore", stderr: "ignore" },
        );
        await waitFor(`nats-server ${name}`, async () => (await fetch(`${node.monitorUrl}/varz`)).ok);
      },
      async stop() {
        if (!proc) return;
        proc.kill("SIGCONT");
        proc.kill("SIGTERM");
        await proc.exited;
        proc = null;
      },
      async kill() {
        if (!proc) return;
        proc.kill("SIGKILL");
        await proc.exited;
        proc = null;
      },
      pause: () => proc?.kill("SIGSTOP"),
      resume: () => proc?.kill("SIGCONT"),
      async dispose() {
        await node.kill();
        try {
          rmSync(store, { recursive: true, force: true });
        } catch {
          // A store on a mount point of its own (the chaos suite's size-limited disks): emptied, kept.
        }
      },
    };
    return node;
  });
  const cluster: NatsCluster = {
    url: nodes.map((n) => n.url).join(","),
    nodes,
    node: (name) => nodes.find((n) => n.name === name) ?? (nodes[0] as NatsNode),
    async dispose() {
      await Promise.all(nodes.map((n) => n.dispose()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await Promise.all(nodes.map((n) => n.start()));
  // Ready once every node is current with a JetStream meta leader (streams can be created).
  await waitFor(
    "JetStream cluster meta leader",
    async () => {
      for (const n of nodes) if (!(await fetch(`${n.monitorUrl}/healthz`)).ok) return false;
      return true;
    },
    30_000,
    100,
  );
  return cluster;
}

export interface Service {
  name: string;
  url: string;
  proc: Subprocess;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<number>;
}

/**
 * Runs a command to its end (from the repository root unless `cwd` says otherwise) and returns
 * its exit code and both outputs; with `timeoutMs` it is SIGKILLed when it runs longer.
 */
export async function runCommand(
  command: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(command, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/root" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = options.timeoutMs ? setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs) : undefined;
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** The environment the tests give a service (and the executable's subcommands). */
export function serviceEnv(env: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH!,
    HOME: process.env.HOME ?? "/root",
    LOG_LEVEL: "warn",
    // The public dev defaults (dashboard token dev-admin-token) are opt-in.
    HOOKLINE_ENV: "development",
    DATABASE_URL,
    REDIS_URL,
    HOOKLINE_SOURCES: join(ROOT, "ops/dev/sources.yaml"),
    // This test process's keys (test/keys.ts), so the test can open what the services sealed.
    ...keyEnv(),
    ...env,
  };
}

export interface StartOptions {
  /** What to run instead of `bun services/<name>/main.ts`, e.g. [executable, name]. */
  command?: string[];
  /** Working directory (default: the checkout). */
  cwd?: string;
}

export async function startService(
  name: "ingress" | "projector" | "dashboard",
  env: Record<string, string>,
  { command = ["bun", `services/${name}/main.ts`], cwd = ROOT }: StartOptions = {},
): Promise<Service> {
  // env.PORT: on a given port (a restarted ingress stays where its senders send).
  const port = env.PORT ? Number(env.PORT) : await freePort();
  let output = "";
  const proc = Bun.spawn(command, {
    cwd,
    env: serviceEnv({ PORT: String(port), ...env }),
    stdout: "pipe",
    stderr: "pipe",
  });
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    for (let r = await reader.read(); !r.done; r = await reader.read()) output += decoder.decode(r.value);
  };
  void collect(proc.stdout as ReadableStream<Uint8Array>);
  void collect(proc.stderr as ReadableStream<Uint8Array>);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${name} to be live`, async () => {
      if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}: ${output}`);
      return (await fetch(`${url}/health/live`)).ok;
    });
  } catch (error) {
    proc.kill("SIGKILL");
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return {
    name,
    url,
    proc,
    output: () => output,
    async kill(signal = "SIGTERM") {
      proc.kill(signal);
      return proc.exited;
    },
  };
}

/**
 * Until a session of the test database waits for a lock: the other side of a race a test sets
 * up by holding a lock in a transaction of its own, released once this resolves.
 */
export async function waitForLockWait(sql: Sql): Promise<void> {
  await waitFor(
    "a session waiting for a lock",
    async () => {
      const [w] = await sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`;
      return w!.n > 0;
    },
    20_000,
    10,
  );
}

/** A migrated, emptied test database. */
export async function freshDatabase(): Promise<Sql> {
  const sql = createDb(DATABASE_URL, { name: "hookline-test", max: 4 });
  await migrate(sql);
  await sql`truncate webhook_event_ids, webhook_events, patients, form_submissions, form_questions restart identity cascade`;
  // Rows sealed by another test process's keys are gone (runtime sources' secrets too, which
  // "keys rotate" re-seals); so is any backlog of rows in clear, and another file's clients,
  // search words, field-mapping corrections and erasure tombstones (which would drop this file's
  // events of an email another file erased).
  await sql`truncate encryption_backlog, clients, sources, patient_search_words, form_mappings, form_mapping_versions, patient_erasures restart identity cascade`;
  return sql;
}

/**
 * A dead letter of `source` as the projector writes one when a message's last delivery failed
 * (projection_failed, its headers and reason), with `body` as the webhook's bytes.
 */
export async function publishProjectorDeadLetter(
  nc: NatsConnection,
  letter: { source: string; eventId: string; body: string; reason: string; originalSeq?: number },
): Promise<void> {
  const h = headers();
  h.set(H.source, letter.source);
  h.set(H.eventId, letter.eventId);
  h.set(H.receivedAt, String(Date.now()));
  h.set(H.contentType, "application/json");
  setReasonHeaders(h, {
    code: "projection_failed",
    reason: letter.reason,
    originalSubject: `webhooks.${letter.source}`,
    ...(letter.originalSeq === undefined ? {} : { originalSeq: letter.originalSeq }),
    deliveries: 5,
  });
  await jetstream(nc).publish(dlqSubject("projector", letter.source), new TextEncoder().encode(letter.body), {
    headers: h,
  });
}

export interface SignedRequest {
  headers: Record<string, string>;
  body: string;
}

/** A Standard Webhooks request for the dev secret (sources generic and google-forms). */
export function signGeneric(
  body: unknown,
  id: string,
  timestamp = Math.floor(Date.now() / 1000),
  secret: string = DEV_SECRET,
): SignedRequest {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return {
    body: text,
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signStandardWebhook(secret, id, timestamp, text),
    },
  };
}

export async function postWebhook(ingressUrl: string, source: string, req: SignedRequest): Promise<Response> {
  return fetch(`${ingressUrl}/v1/webhooks/${source}`, { method: "POST", headers: req.headers, body: req.body });
}

export type ServiceName = "ingress" | "projector" | "dashboard";

/** A fresh database, a private nats-server and the named services wired to them. */
export interface Cluster {
  nats: NatsServer;
  /** With natsNodes > 1: the nodes, one by one (nats then stands for all of them). */
  natsCluster?: NatsCluster;
  sql: Sql;
  services: Partial<Record<ServiceName, Service>>;
  /** Stops one service (SIGTERM) and starts it again, optionally with other env. */
  restart(name: ServiceName, env?: Record<string, string>): Promise<Service>;
  stop(): Promise<void>;
}

/**
 * One NatsServer standing for a whole NatsCluster: its url lists every node, and start/stop
 * act on all of them (a test that stops "NATS" stops the cluster).
 */
function wholeCluster(cluster: NatsCluster): NatsServer {
  const first = cluster.nodes[0] as NatsNode;
  return {
    url: cluster.url,
    monitorUrl: first.monitorUrl,
    store: first.store,
    start: async () => {
      await Promise.all(cluster.nodes.map((n) => n.start()));
    },
    stop: async () => {
      await Promise.all(cluster.nodes.map((n) => n.stop()));
    },
    dispose: () => cluster.dispose(),
  };
}

export interface ClusterOptions {
  /** 3: a 3-node JetStream cluster (startNatsCluster), the streams at 3 replicas. Default 1. */
  natsNodes?: number;
}

export async function startCluster(
  names: ServiceName[],
  env: Record<string, string> = {},
  { natsNodes = 1 }: ClusterOptions = {},
): Promise<Cluster> {
  const sql = await freshDatabase();
  const natsCluster = natsNodes > 1 ? await startNatsCluster(natsNodes) : undefined;
  const nats = natsCluster ? wholeCluster(natsCluster) : await startNats();
  if (natsCluster) env = { STREAM_REPLICAS: String(natsNodes), ...env };
  const services: Cluster["services"] = {};
  for (const name of names) services[name] = await startService(name, { ...env, NATS_URL: nats.url });
  return {
    nats,
    natsCluster,
    sql,
    services,
    async restart(name, extra = {}) {
      await services[name]?.kill();
      services[name] = await startService(name, { ...env, ...extra, NATS_URL: nats.url });
      return services[name]!;
    },
    async stop() {
      await Promise.all(Object.values(services).map((s) => s.kill("SIGKILL")));
      await nats.dispose();
      await sql.end();
    },
  };
}

export interface ReceivedSpan {
  service: string;
  /** The attributes of the span's resource (service.name, OTEL_RESOURCE_ATTRIBUTES...). */
  resource: Record<string, unknown>;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
}

/** A minimal OTLP/HTTP JSON collector: what the services export, as Jaeger would receive it. */
export async function startOtlpReceiver(): Promise<{ endpoint: string; spans: ReceivedSpan[]; stop(): void }> {
  const spans: ReceivedSpan[] = [];
  const value = (v: Record<string, unknown>) => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
  const attrs = (list: { key: string; value: Record<string, unknown> }[] = []) =>
    Object.fromEntries(list.map((a) => [a.key, value(a.value)]));
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: await freePort(),
    async fetch(req) {
      if (new URL(req.url).pathname !== "/v1/traces") return new Response("not found", { status: 404 });
      const body = (await req.json()) as { resourceSpans: any[] };
      for (const rs of body.resourceSpans ?? []) {
        const resource = attrs(rs.resource?.attributes);
        const service = String(resource["service.name"]);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              service,
              resource,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? "",
              name: s.name,
              kind: s.kind,
              attributes: attrs(s.attributes),
              links: (s.links ?? []).map((l: { traceId: string; spanId: string }) => ({
                traceId: l.traceId,
                spanId: l.spanId,
              })),
            });
          }
        }
      }
      return Response.json({});
    },
  });
  return { endpoint: `http://127.0.0.1:${server.port}`, spans, stop: () => server.stop(true) };
}

/** Env that makes a service export its spans to `endpoint` quickly, as OTLP/HTTP JSON. */
export const otlpEnv = (endpoint: string) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
  OTEL_BSP_SCHEDULE_DELAY: "100",
  OTEL_TRACES_SAMPLER: "always_on",
});

/**
 * A sources file: the dev sources plus `extra`, each a copy of the dev source `from` with
 * its own id and overrides. Returns the file's path (removed when the test process exits).
 */
export function devSourcesWith(extra: ({ from: string; id: string } & Record<string, unknown>)[]): string {
  const dev = parseYaml(readFileSync(join(ROOT, "ops/dev/sources.yaml"), "utf8")) as { sources: { id: string }[] };
  for (const { from, ...overrides } of extra) {
    const base = dev.sources.find((s) => s.id === from);
    if (!base) throw new Error(`no dev source "${from}"`);
    dev.sources.push({ ...base, ...overrides });
  }
  const dir = mkdtempSync(join(tmpdir(), "hookline-sources-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "sources.json");
  writeFileSync(file, JSON.stringify(dev));
  return file;
}

/** PEM files made for one test run: a CA, a server and a client certificate it issued, and a stranger CA. */
export interface TestPki {
  dir: string;
  ca: string;
  /** For localhost, 127.0.0.1, ::1 and the hosts asked for. */
  serverCert: string;
  serverKey: string;
  /** CN=hookline: the Postgres role, so pg_hba's clientcert=verify-full accepts it. */
  clientCert: string;
  clientKey: string;
  /** A CA that issued none of these: trusting it instead of `ca` must refuse the servers. */
  otherCa: string;
  dispose(): void;
}

function openssl(cwd: string, args: string[]): void {
  const p = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${p.stderr.toString()}`);
}

/**
 * A throwaway PKI (EC P-256, valid for two days) made with the openssl CLI; the server
 * certificate also names `hosts` (e.g. the chart's service names, mapped to loopback).
 */
export function makeTestPki(hosts: string[] = []): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "hookline-pki-"));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const selfSigned = (name: string, cn: string) =>
    openssl(dir, [
      "req",
      "-x509",
      "-new",
      ...ec,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-subj",
      `/CN=${cn}`,
    ]);
  const issue = (name: string, cn: string, extensions: string) => {
    openssl(dir, ["req", "-new", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`]);
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    ]);
  };
  selfSigned("ca", "hookline test CA");
  selfSigned("other-ca", "some other CA");
  const names = ["localhost", ...hosts].map((h) => `DNS:${h}`).join(",");
  issue("server", "localhost", `subjectAltName=${names},IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n`);
  issue("client", "hookline", "extendedKeyUsage=clientAuth\n");
  const f = (name: string) => join(dir, name);
  return {
    dir,
    ca: f("ca.crt"),
    serverCert: f("server.crt"),
    serverKey: f("server.key"),
    clientCert: f("client.crt"),
    clientKey: f("client.key"),
    otherCa: f("other-ca.crt"),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface PostgresServer {
  /** postgres://hookline:…@127.0.0.1:port/hookline (no sslmode). */
  url: string;
  port: number;
  /** Runs SQL as the superuser over the instance's Unix socket; returns psql's unaligned output. */
  psql(sql: string): string;
  /** pg_ctl stop -m fast: clients are disconnected, the port closes; the data stays for start(). */
  halt(): void;
  /** Starts it again on the same port and data directory (after halt() or kill()). */
  start(): void;
  /** SIGKILL of the postmaster: its backends exit on their own, crash recovery on the next start. */
  kill(): void;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

/** The newest PostgreSQL server binaries installed (./ops/setup installs them). */
function postgresBin(): (name: string) => string {
  const base = "/usr/lib/postgresql";
  const version = readdirSync(base)
    .filter((v) => Bun.file(join(base, v, "bin", "initdb")).size > 0)
    .sort((a, b) => Number(a) - Number(b))
    .pop();
  if (!version) throw new Error("no PostgreSQL server binaries under /usr/lib/postgresql; run ./ops/setup");
  return (name) => join(base, version, "bin", name);
}

/**
 * A private Postgres instance in a temp dir (initdb, the binaries ./ops/setup installs), on a free
 * port, with a role and database hookline. With tls: ssl=on and only hostssl lines in pg_hba, so a
 * plain connection is refused; with tls.clientCa, clients need a certificate for their role too.
 * fsync is off unless asked for (the chaos suite's crash faults must not be survived only thanks
 * to fsync=off).
 */
export async function startPostgresServer(
  options: { tls?: ServerTls; fsync?: boolean; maxConnections?: number } = {},
): Promise<PostgresServer> {
  const bin = postgresBin();
  // As root the server runs as user postgres (initdb refuses root).
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot
    ? Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim() +
      ":" +
      Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString().trim()
    : "";
  const [uid, gid] = ids.split(":").map(Number);
  const asPg = (cmd: string[]) => (asRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd);
  const run = (cmd: string[], check = true) => {
    const p = Bun.spawnSync(asPg(cmd), { stdout: "pipe", stderr: "pipe" });
    if (check && p.exitCode !== 0)
      throw new Error(`${cmd.join(" ")} failed: ${p.stderr.toString()}${p.stdout.toString()}`);
    return p.stdout.toString();
  };
  const dir = mkdtempSync(join(tmpdir(), "hookline-pg-"));
  const data = join(dir, "data");
  const own = (path: string) => asRoot && chownSync(path, uid!, gid!);
  own(dir);
  run([
    bin("initdb"),
    "-D",
    data,
    "-U",
    "postgres",
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-E",
    "UTF8",
    "--locale=C.UTF-8",
    "--no-sync",
  ]);
  const settings = [
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    `-c fsync=${options.fsync ? "on" : "off"}`,
    `-c max_connections=${options.maxConnections ?? 50}`,
  ];
  const { tls } = options;
  if (tls) {
    // Postgres wants its key owned by its user and private.
    const files: [string, string][] = [
      [tls.cert, "server.crt"],
      [tls.key, "server.key"],
      ...(tls.clientCa ? ([[tls.clientCa, "client-ca.crt"]] as [string, string][]) : []),
    ];
    for (const [from, to] of files) {
      copyFileSync(from, join(dir, to));
      own(join(dir, to));
      chmodSync(join(dir, to), 0o600);
    }
    settings.push("-c ssl=on", `-c ssl_cert_file=${dir}/server.crt`, `-c ssl_key_file=${dir}/server.key`);
    if (tls.clientCa) settings.push(`-c ssl_ca_file=${dir}/client-ca.crt`);
    const clientCert = tls.clientCa ? " clientcert=verify-full" : "";
    writeFileSync(
      join(data, "pg_hba.conf"),
      `local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256${clientCert}\nhostssl all all ::1/128 scram-sha-256${clientCert}\n`,
    );
    own(join(data, "pg_hba.conf"));
  }
  const port = await freePort();
  const start = () =>
    run([
      bin("pg_ctl"),
      "-D",
      data,
      "-l",
      join(dir, "log"),
      "-w",
      "-t",
      "60",
      "-o",
      `-p ${port} ${settings.join(" ")}`,
      "start",
    ]);
  start();
  const psql = (sql: string) =>
    run([
      "psql",
      "-h",
      dir,
      "-p",
      String(port),
      "-U",
      "postgres",
      "-d",
      "postgres",
      "-v",
      "ON_ERROR_STOP=1",
      "-qtAc",
      sql,
    ]);
  const password = crypto.randomUUID().replaceAll("-", "");
  psql(`create role hookline login password '${password}'`);
  psql("create database hookline owner hookline");
  return {
    url: `postgres://hookline:${password}@127.0.0.1:${port}/hookline`,
    port,
    psql,
    halt() {
      run([bin("pg_ctl"), "-D", data, "-m", "fast", "-w", "-t", "60", "stop"], false);
    },
    start,
    kill() {
      const pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
      process.kill(pid, "SIGKILL");
      // Wait for the postmaster to be gone before a start.
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        Bun.sleepSync(50);
      }
    },
    async stop() {
      run([bin("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], false);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisServer {
  /** redis:// or, with tls, rediss:// on 127.0.0.1. */
  url: string;
  /** Starts it again on the same port after stop(). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stopped, not gone (SIGSTOP): connections stay open and commands get no answer. */
  pause(): void;
  resume(): void;
}

/**
 * A private redis-server on a free port (a test can stop, restart and pause it without touching
 * the shared one); with tls it listens on its TLS port only.
 */
export async function startRedisServer(options: { tls?: ServerTls } = {}): Promise<RedisServer> {
  const port = await freePort();
  const { tls } = options;
  const listen = tls
    ? [
        "--port",
        "0",
        "--tls-port",
        String(port),
        "--tls-cert-file",
        tls.cert,
        "--tls-key-file",
        tls.key,
        ...(tls.clientCa
          ? ["--tls-ca-cert-file", tls.clientCa, "--tls-auth-clients", "yes"]
          : ["--tls-auth-clients", "no"]),
      ]
    : ["--port", String(port)];
  let proc: Subprocess | null = null;
  const server: RedisServer = {
    url: `${tls ? "rediss" : "redis"}://127.0.0.1:${port}`,
    async start() {
      const started = Bun.spawn(
        ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...listen],
        { stdout: "ignore", stderr: "ignore" },
      );
      proc = started;
      await waitFor("redis-server", async () => {
        if (started.exitCode !== null) throw new Error(`redis-server exited with ${started.exitCode}`);
        // A TCP connect is enough to know it listens (a TLS ping would need the client's files).
        return new Promise<boolean>((resolve) => {
          const socket = createConnection(port, "127.0.0.1", () => {
            socket.destroy();
            resolve(true);
          }).on("error", () => resolve(false));
        });
      });
    },
    async stop() {
      proc?.kill("SIGCONT");
      proc?.kill("SIGTERM");
      await proc?.exited;
      proc = null;
    },
    pause: () => proc?.kill("SIGSTOP"),
    resume: () => proc?.kill("SIGCONT"),
  };
  await server.start();
  return server;
}
