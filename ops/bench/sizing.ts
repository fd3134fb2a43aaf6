#!/usr/bin/env bun
// The README's sizing table (Kubernetes section), derived from bench figures: CPU per webhook
// of each process = its CPU seconds in a phase / webhooks handled in that phase, then pods and
// requests for 10k, 100k and 1M webhooks per minute with every pod planned at ≤ UTILISATION
// of what was measured. A full `ops/bench/run` rewrites the block with the README's Performance
// section; `bun ops/bench/sizing.ts [--write] A.json [B.json …]` derives it from the JSON of
// partial runs (e.g. `ingest` and `projector`), the later file filling what the earlier lacks.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { BenchReport } from "./report.ts";

/** Planned share of measured capacity: the rest absorbs bursts, a lost pod and a noisy host. */
const UTILISATION = 0.5;
/** A Bun service runs its JavaScript on one thread: about one core per pod is all it uses. */
const MAX_CORES_PER_POD = 1;
const MIN_INGRESS_PODS = 2;
const MIN_DASHBOARD_PODS = 2;
const NATS_SERVERS = 3;
const RATES_PER_MINUTE = [10_000, 100_000, 1_000_000];

export interface SizingInputs {
  /** Where the figures come from, for the text. */
  source: string;
  ingress: { cpuSeconds: number; webhooks: number; peakRssMb: number };
  /** nats-server storing the ingest phase's webhooks (one server, file store). */
  natsStore: { cpuSeconds: number; webhooks: number; peakRssMb: number };
  /** One projector process draining the preloaded backlog; nats-server delivering it. */
  projector: {
    cpuSeconds: number;
    events: number;
    seconds: number;
    peakRssMb: number;
    rate: number;
    twoVsOne: number | null;
    /** Postgres COPY of the rows the projector wrote, rows/s: what the database takes at best. */
    copyRate: number | null;
  };
  natsDeliver: { cpuSeconds: number; events: number; peakRssMb: number };
  /** Peak RSS of the dashboard (the larger of the e2e run's and the dashboard suite's) and where it was measured; null when neither ran. */
  dashboardPeak: { mb: number; where: string } | null;
}

/** The dashboard's largest peak RSS in the report: under the e2e run, or the dashboard suite (API reads at N patients). */
function dashboardPeak(r: BenchReport): { mb: number; where: string } | null {
  const seen: { mb: number; where: string }[] = [];
  const e2e = r.resources.e2e?.dashboard?.peakRssMb;
  if (e2e) seen.push({ mb: e2e, where: "the end-to-end run" });
  const suite = r.dashboard?.dashboardProcess?.peakRssMb;
  if (suite && r.dashboard)
    seen.push({ mb: suite, where: `the dashboard suite (API reads at ${n0(r.dashboard.patients)} patients)` });
  return seen.sort((a, b) => b.mb - a.mb)[0] ?? null;
}

/** The inputs a report holds; null when it lacks the ingest or projector figures. */
export function sizingInputs(r: BenchReport): SizingInputs | null {
  const ingest = r.resources.ingest?.hookline;
  const run = r.projector?.runs.find((d) => d.processes === 1);
  if (!r.ingest || !ingest?.ingress || !ingest["nats-server"] || !run?.resources || !run.complete) return null;
  // Resources add up every repeat of a point; its results are the median of one.
  const repeats = Number(r.options.repeats ?? 1) || 1;
  const webhooks = repeats * r.ingest.points.reduce((n, p) => n + (p.results.hookline?.ok ?? 0), 0);
  if (webhooks === 0 || run.events === 0) return null;
  const m = r.machine;
  return {
    source: `the bench of ${r.startedAt.slice(0, 10)} (${m.cpu}, ${m.nproc} cores shared by the load generator, the services, NATS, Postgres and Redis)`,
    ingress: { cpuSeconds: ingest.ingress.cpuSeconds, webhooks, peakRssMb: ingest.ingress.peakRssMb },
    natsStore: { cpuSeconds: ingest["nats-server"].cpuSeconds, webhooks, peakRssMb: ingest["nats-server"].peakRssMb },
    projector: {
      cpuSeconds: run.resources.projector.cpuSeconds,
      events: run.events,
      seconds: run.seconds,
      peakRssMb: run.resources.projector.peakRssMb,
      rate: run.rate,
      twoVsOne: r.projector?.ratios.twoVsOne ?? null,
      copyRate: r.projector?.copy?.rate ?? null,
    },
    natsDeliver: {
      cpuSeconds: run.resources["nats-server"].cpuSeconds,
      events: run.events,
      peakRssMb: run.resources["nats-server"].peakRssMb,
    },
    dashboardPeak: dashboardPeak(r),
  };
}

interface PodPlan {
  pods: number;
  /** CPU request per pod, in millicores. */
  cpuMilli: number;
  /** Memory request per pod, in MiB (the limit: twice that). */
  memoryMi: number;
  /** How it was derived, for the arithmetic shown. */
  why: string;
}

export interface RatePlan {
  perMinute: number;
  perSecond: number;
  ingress: PodPlan;
  projector: PodPlan;
  nats: PodPlan;
  dashboard: PodPlan;
}

const us = (cpuSeconds: number, n: number) => (cpuSeconds / n) * 1e6;
const up = (x: number, step: number) => Math.ceil(x / step - 1e-9) * step;
/** Millicores, rounded up to 50m, at least 100m. */
const milli = (cores: number) => Math.max(100, up(cores * 1000, 50));
/** MiB, rounded up to 32 Mi, at least 64 Mi. */
const mebi = (mb: number) => Math.max(64, up(mb, 32));
const n0 = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 0 });
const n2 = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 });

/** Cores to plan for a CPU cost at a rate: the measured cost at ≤ UTILISATION. */
function cores(perSecond: number, costUs: number): { used: number; planned: number } {
  const used = (perSecond * costUs) / 1e6;
  return { used, planned: used / UTILISATION };
}

export function planRate(i: SizingInputs, perMinute: number): RatePlan {
  const perSecond = perMinute / 60;
  const rate = `${n0(perSecond)}/s`;

  const ing = cores(perSecond, us(i.ingress.cpuSeconds, i.ingress.webhooks));
  const ingPods = Math.max(MIN_INGRESS_PODS, Math.ceil(ing.planned / MAX_CORES_PER_POD - 1e-9));
  const ingress: PodPlan = {
    pods: ingPods,
    cpuMilli: milli(ing.planned / ingPods),
    memoryMi: mebi(i.ingress.peakRssMb),
    why: `${rate} × ${n0(us(i.ingress.cpuSeconds, i.ingress.webhooks))} µs = ${n2(ing.used)} cores, ÷ ${UTILISATION} = ${n2(ing.planned)} → ${ingPods} pods (at least ${MIN_INGRESS_PODS}, ≤ ${MAX_CORES_PER_POD} core each)`,
  };

  const projCost = us(i.projector.cpuSeconds, i.projector.events);
  const proj = cores(perSecond, projCost);
  const perProcess = i.projector.rate * UTILISATION;
  const projPods = Math.max(
    1,
    Math.ceil(perSecond / perProcess - 1e-9),
    Math.ceil(proj.planned / MAX_CORES_PER_POD - 1e-9),
  );
  const projector: PodPlan = {
    pods: projPods,
    cpuMilli: milli(proj.planned / projPods),
    memoryMi: mebi(i.projector.peakRssMb),
    why: `${rate} ÷ (${n0(i.projector.rate)}/s × ${UTILISATION}) → ${projPods} pod${projPods > 1 ? "s" : ""}; CPU ${rate} × ${n0(projCost)} µs = ${n2(proj.used)} cores, ÷ ${UTILISATION} = ${n2(proj.planned)}`,
  };

  const natsCost =
    us(i.natsStore.cpuSeconds, i.natsStore.webhooks) + us(i.natsDeliver.cpuSeconds, i.natsDeliver.events);
  const nat = cores(perSecond, natsCost);
  const nats: PodPlan = {
    pods: NATS_SERVERS,
    cpuMilli: milli(nat.planned),
    memoryMi: mebi(Math.max(i.natsStore.peakRssMb, i.natsDeliver.peakRssMb)),
    why: `${rate} × ${n0(natsCost)} µs = ${n2(nat.used)} cores, ÷ ${UTILISATION} = ${n2(nat.planned)} per server`,
  };

  const dashboard: PodPlan = {
    pods: MIN_DASHBOARD_PODS,
    cpuMilli: milli(0),
    memoryMi: mebi(i.dashboardPeak?.mb ?? 0),
    why: "API reads, not webhooks, load it",
  };
  return { perMinute, perSecond, ingress, projector, nats, dashboard };
}

const cell = (p: PodPlan) => `${p.pods} × ${p.cpuMilli}m / ${p.memoryMi}Mi`;

/** The generated part of the README's sizing: inputs, rule, table, and the arithmetic of the largest rate. */
export function sizingMarkdown(i: SizingInputs): string {
  const plans = RATES_PER_MINUTE.map((r) => planRate(i, r));
  const rows = plans.map((p) => {
    const all = [p.ingress, p.projector, p.nats, p.dashboard];
    const cpu = all.reduce((s, x) => s + x.pods * x.cpuMilli, 0) / 1000;
    const mem = all.reduce((s, x) => s + x.pods * x.memoryMi, 0) / 1024;
    return `| ${n0(p.perMinute)} | ${n0(p.perSecond)} | ${all.map(cell).join(" | ")} | ${n2(cpu)} cores, ${n2(mem)} GiB |`;
  });
  const proj = i.projector;
  const largest = plans.at(-1)!;
  const held = Math.max(i.natsStore.webhooks, i.natsDeliver.events);
  const pct = `${Math.round(UTILISATION * 100)}%`;
  return [
    `Derived by \`ops/bench/sizing.ts\` from ${i.source}. Cost of a webhook = a process's CPU seconds in a phase ÷ the webhooks it handled there:`,
    "",
    `- ingress: ${n2(i.ingress.cpuSeconds)} CPU s for ${n0(i.ingress.webhooks)} webhooks acknowledged = ${n0(us(i.ingress.cpuSeconds, i.ingress.webhooks))} µs each; peak RSS ${n0(i.ingress.peakRssMb)} MiB`,
    `- NATS (one server, file store): ${n2(i.natsStore.cpuSeconds)} CPU s to store those = ${n0(us(i.natsStore.cpuSeconds, i.natsStore.webhooks))} µs, plus ${n2(i.natsDeliver.cpuSeconds)} CPU s to deliver and remove the ${n0(i.natsDeliver.events)} events of the projector run = ${n0(us(i.natsDeliver.cpuSeconds, i.natsDeliver.events))} µs; peak RSS ${n0(Math.max(i.natsStore.peakRssMb, i.natsDeliver.peakRssMb))} MiB holding up to ${n0(held)} webhooks`,
    `- projector (one process, start-up included): ${n2(proj.cpuSeconds)} CPU s for ${n0(proj.events)} events = ${n0(us(proj.cpuSeconds, proj.events))} µs each, ${n2(proj.cpuSeconds / proj.seconds)} cores busy over the ${n2(proj.seconds)} s drain at ${n0(proj.rate)} events/s${proj.twoVsOne === null ? "" : `; two processes drained ${n2(proj.twoVsOne)}× as fast`}${proj.copyRate === null ? "" : `; Postgres COPY of the same rows: ${n0(proj.copyRate)} rows/s`}; peak RSS ${n0(proj.peakRssMb)} MiB`,
    `- dashboard: ${i.dashboardPeak === null ? "not measured in this run" : `peak RSS ${n0(i.dashboardPeak.mb)} MiB in ${i.dashboardPeak.where}`}; API reads, not webhooks, load it`,
    "",
    `Every pod is planned at ≤ ${pct} of what was measured (the rest absorbs bursts, a lost pod and a busier host): CPU = rate × cost ÷ ${UTILISATION}, ` +
      `at most ${MAX_CORES_PER_POD} core per hookline pod (each runs its JavaScript on one thread), at least ${MIN_INGRESS_PODS} ingress pods; ` +
      `projector pods also ≥ rate ÷ (${UTILISATION} × one process's drain rate); NATS: ${NATS_SERVERS} servers (stream replicas 3), each assumed to cost what the one bench server did ` +
      `(replication was not measured); dashboard: ${MIN_DASHBOARD_PODS} pods at the 100m floor; memory request = peak RSS rounded up to 32 MiB, limit twice that. ` +
      "Pods × CPU request / memory request:",
    "",
    "| webhooks/min | per second | ingress | projector | NATS | dashboard | requests in total |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    `At ${n0(largest.perMinute)}/min:`,
    "",
    `- ingress: ${largest.ingress.why}`,
    `- projector: ${largest.projector.why}; Postgres must take ${n0(largest.perSecond)} events/s of its writes${proj.copyRate === null ? "" : ` (its COPY of the same rows reached ${n0(proj.copyRate)} rows/s on the bench machine)`}`,
    `- NATS: ${largest.nats.why}`,
  ].join("\n");
}

const SIZING_START = "<!-- sizing:start -->";
const SIZING_END = "<!-- sizing:end -->";

/** `text` with the sizing block replaced; throws when the markers are missing. */
export function replaceSizingBlock(text: string, block: string): string {
  const a = text.indexOf(SIZING_START);
  const b = text.indexOf(SIZING_END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${SIZING_START} … ${SIZING_END} markers`);
  return `${text.slice(0, a + SIZING_START.length)}\n${block}\n${text.slice(b)}`;
}

/** Reports of partial runs merged: each part from the first file that has it. */
export function mergeReports(reports: BenchReport[]): BenchReport {
  const [first, ...rest] = reports;
  if (!first) throw new Error("no bench report given");
  const merged: BenchReport = { ...first, resources: { ...first.resources } };
  for (const r of rest) {
    merged.ingest ??= r.ingest;
    merged.projector ??= r.projector;
    merged.e2e ??= r.e2e;
    merged.dashboard ??= r.dashboard;
    merged.resources.ingest ??= r.resources.ingest;
    merged.resources.e2e ??= r.resources.e2e;
  }
  return merged;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const write = args.includes("--write");
  const files = args.filter((a) => a !== "--write");
  if (files.length === 0 || files.some((f) => f.startsWith("-"))) {
    console.error("usage: bun ops/bench/sizing.ts [--write] BENCH.json [BENCH.json …]   (ops/bench/run --json)");
    process.exit(2);
  }
  const report = mergeReports(files.map((f) => JSON.parse(readFileSync(f, "utf8")) as BenchReport));
  const inputs = sizingInputs(report);
  if (!inputs) {
    console.error("the reports lack the ingest figures or a complete 1-process projector run with its resources");
    process.exit(1);
  }
  const block = sizingMarkdown(inputs);
  if (write) {
    const readme = resolve(import.meta.dir, "..", "..", "README.md");
    writeFileSync(readme, replaceSizingBlock(readFileSync(readme, "utf8"), block));
    console.error("README.md sizing block rewritten");
  } else console.log(block);
}
