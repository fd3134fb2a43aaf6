// Suite "projector": a backlog preloaded into WEBHOOKS with no projector running, then
// 1 (and 2) projector processes drain it; rate = events / time until the consumer has
// nothing pending or unacked. Reference: Postgres COPY of the very rows the projector
// wrote (events, patients, submissions), timed on the same database in the same run.
// Each run gets a fresh nats-server and database, so nothing else (./ops/up, the
// isolated cluster of the other suites) shares its stream or consumer.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createPublisher, type WebhookMessage } from "../../services/ingress/publish.ts";
import { deriveEventId, KEPT_PROVIDER_HEADERS } from "../../shared/events.ts";
import { PROJECTOR_CONSUMER, STREAM } from "../../shared/nats.ts";
import { getAdapter, loadSources } from "../../shared/sources/index.ts";
import { serviceEnv, startNats, startService } from "./cluster.ts";
import { dbUrl, dropDatabase, projectorDb, provision, psql, recreateDatabase } from "./db.ts";
import { makeRequest } from "./payloads.ts";
import type { Managed } from "./procs.ts";
import { summarizeProfiles } from "./profile.ts";
import { progress } from "./progress.ts";
import { lifetimeUsage, meter, type ResourceUsage, threadCpuSeconds } from "./resources.ts";
import { mean, ratio } from "./stats.ts";

/** "off": JetStream's store cipher off and the projector's cipher swapped out (no-encryption.ts): bench only. */
type Encryption = "on" | "off";

interface DrainRun {
  processes: number;
  /** Absent in JSON written before the on/off comparison: "on". */
  encryption: Encryption;
  events: number;
  seconds: number;
  rate: number;
  rowsWritten: number;
  complete: boolean;
  /** A drain run only to warm up (with abba): shown, never in a mean or a ratio. */
  warmUp?: boolean;
  /**
   * `projector`: CPU seconds of all projector processes over their lives (start-up included,
   * so an upper bound for the drain) and the largest peak RSS of one; `nats-server`: over the drain.
   */
  resources: Record<"projector" | "nats-server", ResourceUsage>;
  /** CPU seconds of all projector processes from when all were ready until drained: the drain's own cost. */
  drainCpuSeconds?: number;
  /**
   * CPU seconds of the Postgres backends serving the projectors (their connections to the run's
   * database, over their lives): the database's share of the work, which shares these cores.
   */
  postgresCpuSeconds?: number;
}

export interface ProjectorResult {
  backlog: number;
  preloadRate: number;
  runs: DrainRun[];
  copy: { rows: number; seconds: number; rate: number } | null;
  /** onVsOff: one process with encryption on / off (1.00 = free; goal >= 0.90). */
  ratios: { oneVsCopy: number | null; twoVsOne: number | null; onVsOff?: number | null };
}

export interface ProjectorOptions {
  backlog: number;
  twoProjectors: boolean;
  /** The runs of one process, in order; "on" first gives the COPY reference and the 2-process run. */
  encryption: Encryption[];
  /** Write each projector's CPU profile (bun --cpu-prof) into this directory, and print its top functions. */
  cpuProfDir: string | null;
  /** With both settings: on, off, off, on (ratios from the means), so drift and order cancel. */
  abba: boolean;
}

// webhook_event_ids holds each event's canonical form since migration 023 (webhook_events did before):
// the reference copies it too, so it keeps writing the bytes the projector writes.
const TABLES = ["webhook_events", "webhook_event_ids", "patients", "form_submissions"] as const;
/** What the projector writes besides: in its storage facts, not in the COPY reference. */
const UNCOPIED_TABLES = ["patient_conflicts", "audit_log"] as const;

/** Publishes `count` events exactly as the ingress would (same publisher, same headers). */
async function preload(natsUrl: string, root: string, count: number, tag: string): Promise<number> {
  const nc = await connect({ servers: natsUrl, name: "hookline-bench-preload" });
  const publish = createPublisher(jetstream(nc, { timeout: 10_000 }), 10_000);
  const sources = loadSources(join(root, "ops/dev/sources.yaml"));
  const started = performance.now();
  let next = 0;
  async function loop() {
    while (next < count) {
      const n = next++;
      const now = Date.now();
      const req = makeRequest(tag, n, now);
      const source = sources.get(req.source)!;
      const raw = { method: "POST", headers: req.headers, query: {}, body: req.body, now };
      const adapter = getAdapter(source.adapter);
      const auth = adapter.authenticate(raw, source);
      const providerHeaders: Record<string, string> = {};
      for (const name of KEPT_PROVIDER_HEADERS)
        if (req.headers[name] !== undefined) providerHeaders[name] = req.headers[name]!;
      const msg: WebhookMessage = {
        source: req.source,
        eventId: deriveEventId(req.source, auth.ok ? adapter.providerEventId(raw, auth) : null, req.body),
        body: req.body,
        contentType: "application/json",
        method: "POST",
        query: "",
        receivedAt: now,
        providerHeaders,
      };
      await publish(msg);
    }
  }
  await Promise.all(Array.from({ length: 256 }, loop));
  await nc.close();
  return Math.round(count / ((performance.now() - started) / 1000));
}

async function drainOnce(
  root: string,
  workDir: string,
  processes: number,
  encryption: Encryption,
  opts: ProjectorOptions,
  tag: string,
  /** Its place in the run (names its directory and profile). */
  index: number,
): Promise<{ run: DrainRun; preloadRate: number; databaseUrl: string; stopNats: () => Promise<void> }> {
  const { backlog } = opts;
  const dbName = projectorDb(tag);
  const databaseUrl = dbUrl(dbName);
  await recreateDatabase(root, dbName);
  const label = `projector x${processes}${encryption === "off" ? " (encryption off)" : ""}`;
  const dir = join(workDir, `projector-${index}-${processes}-${encryption}`);
  const { nats, url: natsUrl } = await startNats(dir, "nats-proj", encryption === "on");
  const stopNats = async () => {
    await nats.stop();
    await dropDatabase(root, dbName);
    rmSync(join(dir, "nats-proj-store"), { recursive: true, force: true });
  };
  await provision(root, natsUrl, databaseUrl);
  progress(`${label}: preloading ${backlog} events`);
  const preloadRate = await preload(natsUrl, root, backlog, `${tag}p${index}`);

  const nc = await connect({ servers: natsUrl, name: "hookline-bench-watch" });
  const jsm = await jetstreamManager(nc);
  const env = { ...serviceEnv(natsUrl, databaseUrl, root), HOOKLINE_PROVISION: "false" };
  const procs: Managed[] = [];
  const bunArgs = [
    ...(encryption === "off" ? ["--preload", join(import.meta.dir, "no-encryption.ts")] : []),
    ...(opts.cpuProfDir
      ? [
          "--cpu-prof",
          "--cpu-prof-dir",
          opts.cpuProfDir,
          "--cpu-prof-name",
          `projector-${index}-${processes}-${encryption}-${tag}.cpuprofile`,
        ]
      : []),
  ];
  const walBefore = (await psql(root, databaseUrl, "select pg_current_wal_lsn()")).trim();
  progress(`${label}: draining`);
  const spawned = performance.now();
  const starting = Array.from({ length: processes }, (_, i) =>
    startService(root, dir, "projector", `projector-${i + 1}`, env, bunArgs).then((s) => procs.push(s.proc)),
  );
  const natsMeter = meter({ "nats-server": nats.pid });
  let projectorUsage: ResourceUsage = { cpuSeconds: 0, peakRssMb: 0 };
  let natsUsage: ResourceUsage = { cpuSeconds: 0, peakRssMb: 0 };
  let first: number | null = null;
  let last = spawned;
  let complete = false;
  // CPU of the projectors once all are ready (start-up done), for the drain's own cost.
  let readyCpu: number | null = null;
  // Per thread (the JS thread, the GC's and JIT's helpers): what a CPU profile of the JS thread misses.
  let readyThreads = new Map<string, number>();
  void Promise.allSettled(starting).then(() => {
    readyCpu = procs.reduce((a, p) => a + lifetimeUsage(p.pid).cpuSeconds, 0);
    readyThreads = threadsOf(procs);
  });
  const threadsCpu = new Map<string, number>();
  let drainCpu = 0;
  let postgresCpu = 0;
  // Bounded: a projector slower than 200 events/s (or stuck) ends the run, reported incomplete.
  const deadline = spawned + Math.max(60_000, (backlog / 200) * 1000);
  try {
    while (performance.now() < deadline) {
      const info = await jsm.consumers.info(STREAM, PROJECTOR_CONSUMER);
      const now = performance.now();
      const left = info.num_pending + info.num_ack_pending;
      if (first === null && info.delivered.stream_seq > 0) first = now;
      if (left === 0 && info.ack_floor.stream_seq >= backlog) {
        last = now;
        complete = true;
        break;
      }
      await Bun.sleep(100);
    }
    await Promise.allSettled(starting);
  } finally {
    // The backends of the projectors' connections, read while they are connected.
    postgresCpu = await backendsCpuSeconds(root, databaseUrl).catch(() => 0);
    // Read before they stop: /proc/<pid> goes away with the process.
    drainCpu = procs.reduce((a, p) => a + lifetimeUsage(p.pid).cpuSeconds, 0) - (readyCpu ?? 0);
    for (const [name, s] of threadsOf(procs)) threadsCpu.set(name, s - (readyThreads.get(name) ?? 0));
    for (const u of procs.map((p) => lifetimeUsage(p.pid)))
      projectorUsage = {
        cpuSeconds: Math.round((projectorUsage.cpuSeconds + u.cpuSeconds) * 100) / 100,
        peakRssMb: Math.max(projectorUsage.peakRssMb, u.peakRssMb),
      };
    for (const p of procs) await p.stop();
    natsUsage = natsMeter.stop()["nats-server"]!;
    await nc.close();
  }
  const seconds = ((complete ? last : performance.now()) - (first ?? spawned)) / 1000;
  const rows = Number((await psql(root, databaseUrl, "select count(*) from webhook_events")).trim());
  const run: DrainRun = {
    processes,
    encryption,
    events: backlog,
    seconds: Math.round(seconds * 100) / 100,
    rate: Math.round(rows / seconds),
    rowsWritten: rows,
    complete,
    resources: { projector: projectorUsage, "nats-server": natsUsage },
    drainCpuSeconds: Math.round(drainCpu * 100) / 100,
    postgresCpuSeconds: Math.round(postgresCpu * 100) / 100,
  };
  const perEvent = (cpu: number) => Math.round((cpu / backlog) * 1e6);
  progress(
    `${label}: ${run.rate} events/s (${rows} rows in ${run.seconds}s; CPU µs/event: projector ${perEvent(drainCpu)}, its Postgres backends ${perEvent(postgresCpu)}, nats-server ${perEvent(natsUsage.cpuSeconds)})`,
  );
  progress(
    `${label}: projector threads, CPU µs/event: ${[...threadsCpu.entries()]
      .filter(([, s]) => s > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([name, s]) => `${name} ${perEvent(s)}`)
      .join(", ")}`,
  );
  progress(`${label}: ${await storageFacts(root, databaseUrl, walBefore, backlog)}`);
  return { run, preloadRate, databaseUrl, stopNats };
}

/** Per thread name, CPU seconds summed over the processes. */
function threadsOf(procs: Managed[]): Map<string, number> {
  const sum = new Map<string, number>();
  for (const p of procs) for (const [name, s] of threadCpuSeconds(p.pid)) sum.set(name, (sum.get(name) ?? 0) + s);
  return sum;
}

/**
 * WAL bytes an event since `walBefore` (the whole cluster's WAL: other databases' writes count
 * too), and each table's heap and TOAST bytes an event: where sealed values cost Postgres more.
 */
async function storageFacts(root: string, databaseUrl: string, walBefore: string, events: number): Promise<string> {
  const out = await psql(
    root,
    databaseUrl,
    `select 'wal ' || round(pg_wal_lsn_diff(pg_current_wal_lsn(), '${walBefore}') / ${events}) || ' B/event; ' ||
       (select string_agg(t || ' heap ' || round(heap / ${events}) || ' toast ' || round(toast / ${events}), ', ' order by t)
        from (select t, sum(pg_relation_size(leaf)) as heap,
                     sum(coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0)) as toast
              from unnest(array[${[...TABLES, ...UNCOPIED_TABLES].map((t) => `'${t}'`).join(", ")}]) t,
                   lateral (select relid as leaf from pg_partition_tree(t::regclass) where isleaf
                            union select t::regclass where not exists (select from pg_partition_tree(t::regclass))) leaves
                   join pg_class c on c.oid = leaves.leaf
              group by t) sizes) || ' (B/event)'`,
  );
  return out.trim();
}

/** CPU seconds of the client backends connected to this database (but psql's own), over their lives. */
async function backendsCpuSeconds(root: string, databaseUrl: string): Promise<number> {
  const pids = await psql(
    root,
    databaseUrl,
    "select pid from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid()",
  );
  return pids
    .split("\n")
    .filter((p) => p.trim())
    .reduce((a, p) => a + lifetimeUsage(Number(p)).cpuSeconds, 0);
}

/** COPY out what the projector wrote, then time COPY back in to same-shaped tables. */
async function copyReference(root: string, workDir: string, databaseUrl: string): Promise<ProjectorResult["copy"]> {
  let rows = 0;
  const files: [string, string][] = [];
  const columns = new Map<string, string>();
  for (const t of TABLES) {
    const file = join(workDir, `copy-${t}.tsv`);
    // Generated columns (patients.search_text) are computed on the way in, never copied.
    const list = (
      await psql(
        root,
        databaseUrl,
        `select string_agg(quote_ident(attname), ',' order by attnum) from pg_attribute where attrelid = '${t}'::regclass and attnum > 0 and not attisdropped and attgenerated = ''`,
      )
    ).trim();
    columns.set(t, list);
    await psql(root, databaseUrl, `\\copy (select ${list} from ${t}) to '${file}'`);
    await psql(
      root,
      databaseUrl,
      `create schema if not exists bench; drop table if exists bench.copy_${t}; create table bench.copy_${t} (like ${t} including all)`,
    );
    files.push([t, file]);
  }
  rows = Number((await psql(root, databaseUrl, "select count(*) from webhook_events")).trim());
  const started = performance.now();
  for (const [t, file] of files)
    await psql(root, databaseUrl, `copy bench.copy_${t} (${columns.get(t)}) from stdin`, file);
  const seconds = (performance.now() - started) / 1000;
  for (const [, file] of files) rmSync(file, { force: true });
  return { rows, seconds: Math.round(seconds * 1000) / 1000, rate: Math.round(rows / seconds) };
}

export async function runProjector(
  root: string,
  workDir: string,
  opts: ProjectorOptions,
  tag: string,
): Promise<ProjectorResult> {
  const runs: DrainRun[] = [];
  let copy: ProjectorResult["copy"] = null;
  let preloadRate = 0;
  // On and off back to back, then two processes with the first setting. With abba, on/off as
  // A B B A: the first drain of a run came out slower whichever setting it had (off first: on/off
  // 0.95x; on first: 0.29-0.71x, same session), so a single pair measures the order, not the cipher.
  // ABBA cancels drift, not that penalty: in two quiet runs the first (an "on") was still 15-25%
  // slower than the last, so the series starts after a drain that only warms up.
  const abba = opts.abba && opts.encryption.length === 2;
  const settings = abba ? [...opts.encryption, ...opts.encryption.toReversed()] : opts.encryption;
  const plan: [number, Encryption, boolean][] = settings.map((e) => [1, e, false]);
  if (abba) plan.unshift([1, settings[0]!, true]);
  if (opts.twoProjectors) plan.push([2, opts.encryption[0] ?? "on", false]);
  for (const [i, [processes, encryption, warmUp]] of plan.entries()) {
    const r = await drainOnce(root, workDir, processes, encryption, opts, tag, i);
    runs.push(warmUp ? { ...r.run, warmUp } : r.run);
    preloadRate = Math.max(preloadRate, r.preloadRate);
    try {
      if (processes === 1 && copy === null) {
        copy = await copyReference(root, workDir, r.databaseUrl);
        progress(`projector: COPY reference ${copy!.rate} rows/s`);
      }
    } finally {
      await r.stopNats();
    }
  }
  // The mean of the runs with these settings.
  const rate = (processes: number, encryption: Encryption) => {
    const same = runs.filter((r) => r.processes === processes && r.encryption === encryption && !r.warmUp);
    return mean(same.map((r) => r.rate));
  };
  const first = runs.find((r) => !r.warmUp)?.encryption ?? "on";
  if (opts.cpuProfDir) progress(`CPU profiles in ${opts.cpuProfDir}:\n${summarizeProfiles(opts.cpuProfDir, tag)}`);
  return {
    backlog: opts.backlog,
    preloadRate,
    runs,
    copy,
    ratios: {
      oneVsCopy: ratio(rate(1, first), copy?.rate ?? 0),
      twoVsOne: ratio(rate(2, first), rate(1, first)),
      onVsOff: ratio(rate(1, "on"), rate(1, "off")),
    },
  };
}
