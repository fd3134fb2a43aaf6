// The system under test, isolated: its own nats-server (free ports, temp store), its own
// database (hookline_bench_<run>), its own ingress/projector/dashboard processes on free ports.
// Only Postgres and Redis are shared with a running ./ops/up (separate database, separate
// Redis DB index), so ./ops/up running or not changes neither the result nor its data.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newKeyText } from "../../shared/crypto/keyring.ts";
import { encryptedStoreConfig, newJetStreamKey } from "../jetstream-store.ts";
import { benchDb, dbUrl, dropDatabase, provision, recreateDatabase } from "./db.ts";
import { freePort, type Managed, spawnManaged, waitHttp, waitTcp } from "./procs.ts";

export interface Cluster {
  root: string;
  /** Unique per run: names the database and the Redis key prefix. */
  tag: string;
  workDir: string;
  natsUrl: string;
  natsMonitorUrl: string;
  databaseUrl: string;
  redisUrl: string;
  ingressUrl: string;
  dashboardUrl: string;
  nats: Managed;
  ingress: Managed;
  dashboard: Managed;
  /** The cluster's own projector, null while a suite has it stopped. */
  projector: Managed | null;
  startProjector(name?: string, env?: Record<string, string>): Promise<Managed>;
  stopProjector(): Promise<void>;
  close(): Promise<void>;
}

// Redis DB 4 for the dashboard's cache: never the dev cluster's DB 0.
const BENCH_REDIS_URL = "redis://127.0.0.1:6379/4";

export async function startNats(
  workDir: string,
  name: string,
  /** false: the store in clear, the "encryption off" side of the bench's comparison only. */
  encrypted = true,
): Promise<{ nats: Managed; url: string; monitorUrl: string; store: string }> {
  const store = join(workDir, `${name}-store`);
  // JetStream's store encrypted at rest, as ./ops/up runs it (ops/lib.sh start_nats).
  const config = join(workDir, `${name}.conf`);
  mkdirSync(workDir, { recursive: true });
  writeFileSync(config, encrypted ? encryptedStoreConfig(store) : `jetstream {\n  store_dir: "${store}"\n}\n`);
  // A port freePort found free can be taken before nats-server binds it: it then exits at once,
  // and is started again on other ports (as the test harness does), up to 3 times.
  for (let attempt = 1; ; attempt++) {
    const [port, mon] = [await freePort(), await freePort()];
    rmSync(store, { recursive: true, force: true });
    mkdirSync(store, { recursive: true });
    const nats = spawnManaged({
      name,
      cmd: ["nats-server", "-c", config, "-a", "127.0.0.1", "-p", String(port), "-m", String(mon)],
      cwd: workDir,
      logDir: workDir,
      env: { JS_KEY: newJetStreamKey() },
    });
    try {
      await waitTcp(port, 20, nats);
      await waitHttp(`http://127.0.0.1:${mon}/healthz`, 20, nats);
      return { nats, url: `nats://127.0.0.1:${port}`, monitorUrl: `http://127.0.0.1:${mon}`, store };
    } catch (error) {
      if (nats.proc.exitCode === null || attempt === 3) throw error;
    }
  }
}

// Keys of this bench process: patient data is sealed at rest as in production.
const KEYS = { HOOKLINE_KEYS: newKeyText("bench-data-1"), HOOKLINE_BLIND_INDEX_KEY: newKeyText("bench-index-1") };

export function serviceEnv(natsUrl: string, databaseUrl: string, root: string): Record<string, string> {
  return {
    ...KEYS,
    NATS_URL: natsUrl,
    DATABASE_URL: databaseUrl,
    REDIS_URL: BENCH_REDIS_URL,
    HOOKLINE_SOURCES: join(root, "ops/dev/sources.yaml"),
    // The dev sources file and dashboard token (dev-admin-token) are opt-in.
    HOOKLINE_ENV: "development",
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    OTEL_SDK_DISABLED: "true",
  };
}

export async function startService(
  root: string,
  workDir: string,
  service: string,
  name: string,
  env: Record<string, string>,
  /** Flags for bun itself, before the script (--preload, --cpu-prof). */
  bunArgs: string[] = [],
): Promise<{ proc: Managed; url: string }> {
  const port = await freePort();
  const proc = spawnManaged({
    name,
    cmd: ["bun", ...bunArgs, `services/${service}/main.ts`],
    cwd: root,
    env: { ...env, PORT: String(port) },
    logDir: workDir,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/health/ready`, 60, proc);
  return { proc, url };
}

export async function startCluster(root: string, workDir: string, tag: string): Promise<Cluster> {
  mkdirSync(workDir, { recursive: true });
  const dbName = benchDb(tag);
  const databaseUrl = dbUrl(dbName);
  await recreateDatabase(root, dbName);
  const { nats, url: natsUrl, monitorUrl } = await startNats(workDir, "nats");
  await provision(root, natsUrl, databaseUrl);
  const env = serviceEnv(natsUrl, databaseUrl, root);
  const ingress = await startService(root, workDir, "ingress", "ingress", env);
  const dashboard = await startService(root, workDir, "dashboard", "dashboard", env);
  const cluster: Cluster = {
    root,
    tag,
    workDir,
    natsUrl,
    natsMonitorUrl: monitorUrl,
    databaseUrl,
    redisUrl: BENCH_REDIS_URL,
    ingressUrl: ingress.url,
    dashboardUrl: dashboard.url,
    nats,
    ingress: ingress.proc,
    dashboard: dashboard.proc,
    projector: null,
    async startProjector(name = "projector", extra = {}) {
      const p = await startService(root, workDir, "projector", name, { ...env, ...extra });
      if (name === "projector") cluster.projector = p.proc;
      return p.proc;
    },
    async stopProjector() {
      await cluster.projector?.stop();
      cluster.projector = null;
    },
    async close() {
      await cluster.stopProjector();
      await dashboard.proc.stop();
      await ingress.proc.stop();
      await nats.stop();
      await dropDatabase(root, dbName);
    },
  };
  return cluster;
}
