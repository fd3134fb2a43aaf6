#!/usr/bin/env bun
// ops/bench: measures hookline against references taken in the same run (JetStream
// ceiling, Express peers, Postgres COPY). Self-contained: brings up its own NATS,
// database and service processes; needs only Postgres (:5432) and Redis (:6379).
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "./cli.ts";
import { type Cluster, startCluster } from "./cluster.ts";
import { runDashboard } from "./dashboard.ts";
import { runE2e } from "./e2e.ts";
import { runIngestEncryption } from "./encryption.ts";
import { runIngest } from "./ingest.ts";
import { describeMachine } from "./machine.ts";
import { killAllSync, stopAll } from "./procs.ts";
import { progress } from "./progress.ts";
import { runProjector } from "./projector.ts";
import { type BenchReport, markdown, SCHEMA, writeJson, writeReadme } from "./report.ts";
import { checkPayloads } from "./sanity.ts";
import { runTracing } from "./tracing.ts";

const ROOT = resolve(import.meta.dir, "../..");

async function main(): Promise<number> {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const started = new Date();
  const t0 = performance.now();
  // Lower-case alphanumerics: it ends up in database names, Redis prefixes and emails.
  const runTag =
    started.getTime().toString(36) +
    Math.floor(Math.random() * 1296)
      .toString(36)
      .padStart(2, "0");
  const workDir = join(ROOT, "bench-results", `run-${runTag}`);
  mkdirSync(workDir, { recursive: true });
  progress(`suites: ${[...opts.suites].join(", ")}${opts.smoke ? " (smoke)" : ""}; logs in ${workDir}`);
  checkPayloads(ROOT);

  const report: BenchReport = {
    schema: SCHEMA,
    startedAt: started.toISOString(),
    durationS: 0,
    smoke: opts.smoke,
    mode: "isolated",
    machine: describeMachine(),
    options: { ...opts, suites: [...opts.suites] },
    ingest: null,
    encryption: null,
    tracing: null,
    projector: null,
    e2e: null,
    dashboard: null,
    resources: { ingest: null, e2e: null },
  };

  let cluster: Cluster | null = null;
  try {
    const needCluster = opts.suites.has("ingest") || opts.suites.has("resources") || opts.suites.has("e2e");
    if (needCluster) {
      progress("starting isolated cluster (own nats-server, database hookline_bench_<run>, services on free ports)");
      cluster = await startCluster(ROOT, workDir, runTag);
    }
    if (cluster && (opts.suites.has("ingest") || opts.suites.has("resources"))) {
      report.ingest = await runIngest(
        cluster,
        {
          concurrencies: opts.concurrencies,
          seconds: opts.seconds,
          repeats: opts.repeats,
          peers: opts.peers,
          maxPool: opts.maxPool,
        },
        runTag,
      );
      report.resources.ingest = report.ingest.resources;
    }
    if (cluster && opts.suites.has("ingest") && opts.encryption.length === 2) {
      // At the middle concurrency (64 by default), on/off twice each.
      const c = opts.concurrencies[Math.floor(opts.concurrencies.length / 2)]!;
      report.encryption = await runIngestEncryption(
        cluster,
        { connections: c, seconds: opts.seconds, maxPool: opts.maxPool, rounds: opts.smoke ? 1 : 2 },
        runTag,
      );
    }
    if (cluster && opts.tracing) {
      report.tracing = await runTracing(
        cluster,
        opts.tracing,
        { concurrencies: opts.concurrencies, seconds: opts.seconds, maxPool: opts.maxPool },
        runTag,
      );
    }
    if (cluster && opts.suites.has("e2e")) {
      // Issue #13's goal: 5,000 webhooks/s with the whole cluster on this machine (--e2e-rate).
      const rate = opts.smoke ? Math.min(opts.e2eRate, 500) : opts.e2eRate;
      report.e2e = await runE2e(cluster, rate, opts.e2eSeconds, runTag);
      report.resources.e2e = report.e2e.resources;
      progress(
        `e2e: ingress-alone p99 ${report.e2e.ingressAlone.latencyMs.p99} ms, pipeline p99 ${report.e2e.pipeline.latencyMs.p99} ms, visible p50 ${report.e2e.visibleLatencyMs.p50} ms p99 ${report.e2e.visibleLatencyMs.p99} ms`,
      );
    }
    if (cluster) {
      await cluster.close();
      cluster = null;
    }
    if (opts.suites.has("projector")) {
      if (opts.cpuProfDir) mkdirSync(resolve(opts.cpuProfDir), { recursive: true });
      report.projector = await runProjector(
        ROOT,
        workDir,
        {
          backlog: opts.backlog,
          twoProjectors: opts.twoProjectors,
          encryption: opts.encryption,
          cpuProfDir: opts.cpuProfDir && resolve(opts.cpuProfDir),
          abba: !opts.smoke,
        },
        runTag,
      );
    }
    if (opts.suites.has("dashboard")) {
      report.dashboard = await runDashboard(ROOT, workDir, runTag, {
        patients: opts.patients,
        concurrency: opts.dashboardConcurrency,
        seconds: opts.dashboardSeconds,
        keepDb: opts.dashboardKeepDb,
        // A smoke run (in ./ops/test, beside other tests) checks the suite works, not its speed.
        quietLimitS: opts.smoke ? 0 : 60,
        kinds: opts.dashboardKinds,
        cpuProfDir: opts.cpuProfDir && resolve(opts.cpuProfDir),
      });
    }
  } finally {
    await cluster?.close().catch(() => {});
    await stopAll();
  }

  report.durationS = Math.round((performance.now() - t0) / 100) / 10;
  console.log(markdown(report));
  if (opts.json) {
    writeJson(resolve(opts.json), report);
    progress(`wrote ${opts.json}`);
  }
  if (opts.readme) {
    writeReadme(join(ROOT, "README.md"), report);
    progress("README Performance section updated");
  }
  // Logs of a clean run are noise; a failed run keeps them for diagnosis.
  rmSync(workDir, { recursive: true, force: true });
  progress(`done in ${report.durationS}s`);
  return 0;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAllSync();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`bench failed: ${(error as Error).stack ?? error}`);
    killAllSync();
    process.exit(1);
  },
);
