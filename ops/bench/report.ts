// Output: the JSON document (stable schema "hookline-bench/2"), the human table, and the
// README "Performance" section between the bench markers.
import { readFileSync, writeFileSync } from "node:fs";
import { type DashboardResult, dashboardMarkdown } from "./dashboard.ts";
import type { E2eResult } from "./e2e.ts";
import type { EncryptionIngestResult } from "./encryption.ts";
import type { IngestResult, Target } from "./ingest.ts";
import type { Machine } from "./machine.ts";
import type { ProjectorResult } from "./projector.ts";
import { replaceSizingBlock, sizingInputs, sizingMarkdown } from "./sizing.ts";
import { mean } from "./stats.ts";
import type { TracingResult } from "./tracing.ts";

export const SCHEMA = "hookline-bench/2";

export interface BenchReport {
  schema: typeof SCHEMA;
  startedAt: string;
  durationS: number;
  smoke: boolean;
  mode: "isolated";
  machine: Machine;
  options: Record<string, unknown>;
  ingest: IngestResult | null;
  /** Ingest with encryption at rest on and off (--encryption on,off with the ingest suite). */
  encryption?: EncryptionIngestResult | null;
  /** --tracing: the ingress with tracing off and at each sampling ratio. */
  tracing?: TracingResult | null;
  projector: ProjectorResult | null;
  e2e: E2eResult | null;
  /** Suite "dashboard" (named only): the API and the page at N patients. */
  dashboard?: DashboardResult | null;
  /** CPU seconds and peak RSS per process, per phase. */
  resources: { ingest: IngestResult["resources"] | null; e2e: E2eResult["resources"] | null };
}

const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined ? "–" : n.toLocaleString("en-US", { maximumFractionDigits: digits });
const x = (n: number | null | undefined) => (n === null || n === undefined ? "–" : `${n.toFixed(2)}×`);

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

export function markdown(r: BenchReport): string {
  const parts: string[] = [];
  const m = r.machine;
  parts.push(
    `Measured ${r.startedAt.slice(0, 16).replace("T", " ")} UTC by \`ops/bench/run\`${r.smoke ? " (**smoke: tiny load, not representative**)" : ""} ` +
      `in ${Math.round(r.durationS)} s on ${m.cpu}, ${m.nproc} cores, ${m.memoryGb} GB, Linux ${m.kernel}; ` +
      Object.entries(m.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") +
      ". " +
      (m.loadAverage === undefined
        ? ""
        : `Load average ${m.loadAverage} when the run started (other work on these cores lowers every absolute figure). `) +
      "Everything (load generator, services, NATS, Postgres, Redis, peers) shares these cores; ratios come from the same run.",
  );
  if (r.ingest) {
    const targets: Target[] = ["hookline", "ceiling", "floor", "direct", "bull"];
    const rows: string[][] = [];
    for (const p of r.ingest.points) {
      for (const t of targets) {
        const res = p.results[t];
        if (!res) continue;
        rows.push([
          String(p.connections),
          t,
          fmt(res.rps),
          fmt(res.latencyMs.p50, 2),
          fmt(res.latencyMs.p90, 2),
          fmt(res.latencyMs.p99, 2),
          fmt(res.latencyMs.max, 1),
          fmt(res.errors),
        ]);
      }
    }
    parts.push(
      "**Ingest** (wrk, signed webhooks of all four dev sources, every one distinct; durable = 2xx after PubAck / INSERT / Redis; " +
        "`ceiling` = raw JetStream publish-with-ack from one Bun process with the same bodies and in-flight count; " +
        "`floor` = a bare Bun HTTP server that reads the body and answers, doing nothing else; " +
        "`direct` = Express + INSERT into Postgres before the 200; `bull` = Express + BullMQ enqueue):\n\n" +
        table(["in flight", "target", "durable req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"], rows),
    );
    parts.push(
      table(
        [
          "in flight",
          "hookline / ceiling",
          "one-process bound",
          "hookline / bound",
          "hookline / direct (req/s)",
          "hookline / bull (req/s)",
          "p99 hookline / direct",
          "p99 hookline / bull",
        ],
        r.ingest.points.map((p) => [
          String(p.connections),
          x(p.ratios.hooklineVsCeilingRps),
          p.ratios.boundRps === null ? "–" : fmt(p.ratios.boundRps),
          x(p.ratios.hooklineVsBoundRps),
          x(p.ratios.hooklineVsDirectRps),
          x(p.ratios.hooklineVsBullRps),
          x(p.ratios.hooklineVsDirectP99),
          x(p.ratios.hooklineVsBullP99),
        ]),
      ),
    );
    parts.push(
      "The one-process bound is 1 / (1/floor + 1/ceiling): the most a single process could do if it paid the bare HTTP cost and the raw " +
        "publish-with-ack cost for every webhook and nothing else. hookline's ingress is one process per pod and scales out by pods.",
    );
    if (r.ingest.bullDrain) {
      const b = r.ingest.bullDrain;
      parts.push(
        `Bull worker afterwards drained ${fmt(b.jobs)} jobs at ${fmt(b.rate)} inserts/s${b.complete ? "" : " (not finished within 60 s)"}.`,
      );
    }
  }
  if (r.encryption) {
    const e = r.encryption;
    parts.push(
      `**Encryption at rest, ingest** (JetStream's store cipher on, as shipped, and off, bench only; a fresh pool per run, ${e.connections} in flight, measured in turn${e.order ? `: ${e.order.join(", ")}` : ""}): ` +
        `on ${e.on.map((v) => fmt(v)).join(", ")} req/s; off ${e.off.map((v) => fmt(v)).join(", ")} req/s; on / off ${x(e.onVsOff)} (goal ≥ 0.90×: ${atLeast(e.on, e.off, 0.9)}).`,
    );
  }
  if (r.tracing) {
    const t = r.tracing;
    parts.push(
      "**Ingest with tracing** (a fresh ingress per setting, spans to a Jaeger on the same cores; sampled: `parentbased_traceidratio`):\n\n" +
        table(
          ["in flight", "tracing", "durable req/s", "vs off", "p50 ms", "p99 ms", "errors"],
          t.points.map((p) => [
            String(p.connections),
            p.setting === "off" ? "off" : `${p.setting * 100}% sampled`,
            fmt(p.result.rps),
            p.vsOffRps === null ? "–" : `${(p.vsOffRps * 100).toFixed(1)}%`,
            fmt(p.result.latencyMs.p50, 2),
            fmt(p.result.latencyMs.p99, 2),
            fmt(p.result.errors),
          ]),
        ) +
        `\n\nJaeger received spans from: ${t.jaegerServices.join(", ") || "nothing"}.`,
    );
  }
  if (r.projector) {
    const p = r.projector;
    parts.push(
      `**Projector** (backlog of ${fmt(p.backlog)} events preloaded into WEBHOOKS at ${fmt(p.preloadRate)}/s, then drained; ` +
        "goals: ≥ 0.50× of COPY, 2 processes ≥ 1.50× of 1, encryption on / off ≥ 0.90×; CPU per event: all projector processes from ready to drained, divided by the events):\n\n" +
        table(
          ["what", "events/s", "seconds", "projector CPU µs/event", "ratio"],
          [
            ...p.runs.map((d) => {
              const off = (d.encryption ?? "on") === "off";
              return [
                `${d.processes} projector process${d.processes > 1 ? "es" : ""}${off ? ", encryption off (bench only)" : ""}${d.complete ? "" : " (incomplete)"}${d.warmUp ? " (warm-up, not counted)" : ""}`,
                fmt(d.rate),
                fmt(d.seconds, 1),
                d.drainCpuSeconds === undefined ? "–" : fmt((d.drainCpuSeconds * 1e6) / Math.max(1, d.rowsWritten)),
                d.warmUp
                  ? "–"
                  : off
                    ? `on / off ${x(p.ratios.onVsOff)}`
                    : d.processes === 1
                      ? `${x(p.ratios.oneVsCopy)} of COPY`
                      : `${x(p.ratios.twoVsOne)} of 1 process`,
              ];
            }),
            ...(p.copy
              ? [["Postgres COPY of the same rows (reference)", fmt(p.copy.rate), fmt(p.copy.seconds, 2), "–", "1.00×"]]
              : []),
          ],
        ),
    );
  }
  if (r.e2e) {
    const e = r.e2e;
    const lat = (l: { p50: number; p90: number; p99: number; max: number }) =>
      `p50 ${fmt(l.p50, 2)} ms, p90 ${fmt(l.p90, 2)} ms, p99 ${fmt(l.p99, 2)} ms`;
    parts.push(
      `**End to end** at about ${fmt(e.offeredRps)} req/s offered (wrk, 128 connections, paced). ` +
        `Ingress alone (projector stopped): ${fmt(e.ingressAlone.achievedRps)} req/s achieved, ${fmt(e.ingressAlone.errors)} errors, ${lat(e.ingressAlone.latencyMs)}. ` +
        `Whole pipeline (projector running): ${fmt(e.pipeline.achievedRps)} req/s, ${fmt(e.pipeline.errors)} errors, ${lat(e.pipeline.latencyMs)}; ` +
        `${fmt(e.pipeline.backlogAtEnd)} events still to project when the load stopped` +
        (e.pipeline.backlogGrowthPerS === undefined
          ? ". "
          : ` (largest backlog sampled ${fmt(e.pipeline.backlogMax)}; it grew by ${fmt(e.pipeline.backlogGrowthPerS)} events/s, 0 = flat). `) +
        `From 200 OK to visible in \`GET /api/v1/patients?q=<email>\` (${probeSettings(e.visibleLatencyMs)}; ${e.visibleLatencyMs.found}/${e.visibleLatencyMs.samples} found): ` +
        `p50 ${fmt(e.visibleLatencyMs.p50, 1)} ms, p99 ${fmt(e.visibleLatencyMs.p99, 1)} ms.`,
    );
  }
  if (r.dashboard) parts.push(dashboardMarkdown(r.dashboard));
  const res = r.resources;
  // Runs of a JSON written before the projector was metered have no resources.
  const drains = (r.projector?.runs ?? []).filter((d) => d.resources);
  if (res.ingest || res.e2e || drains.length > 0) {
    const rows: string[][] = [];
    for (const [phase, group] of Object.entries(res.ingest ?? {}))
      for (const [proc, u] of Object.entries(group ?? {}))
        rows.push([`ingest (${phase})`, proc, fmt(u.cpuSeconds, 1), fmt(u.peakRssMb)]);
    for (const [proc, u] of Object.entries(res.e2e ?? {}))
      rows.push(["e2e", proc, fmt(u.cpuSeconds, 1), fmt(u.peakRssMb)]);
    for (const d of drains)
      for (const [proc, u] of Object.entries(d.resources))
        rows.push([
          `projector drain (${d.processes})`,
          proc === "projector" && d.processes > 1 ? `projector × ${d.processes}` : proc,
          fmt(u.cpuSeconds, 1),
          fmt(u.peakRssMb),
        ]);
    parts.push(
      "**Resources** (CPU seconds over the phase, peak RSS sampled at 4 Hz; a projector drain counts the projector processes " +
        `over their whole lives, start-up included, and the largest peak RSS of one):\n\n${table(["phase", "process", "CPU s", "peak RSS MB"], rows)}`,
    );
  }
  parts.push(
    "Reproduce: `ops/bench/run` (all suites, ~8 min), `ops/bench/run ingest --json out.json`, `ops/bench/run --smoke`. Method and caveats: [docs/bench.md](docs/bench.md).",
  );
  return parts.join("\n\n");
}

export function writeJson(file: string, r: BenchReport): void {
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
}

const START = "<!-- bench:start -->";
const END = "<!-- bench:end -->";

/**
 * Replaces only the text between the markers (the Performance section, and the Kubernetes
 * section's sizing derived from the same run); refuses if they are missing.
 */
export function writeReadme(readmePath: string, r: BenchReport): void {
  let text = readFileSync(readmePath, "utf8");
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${readmePath} has no ${START} … ${END} markers`);
  text = `${text.slice(0, a + START.length)}\n${markdown(r)}\n${text.slice(b)}`;
  const sizing = sizingInputs(r);
  if (sizing) text = replaceSizingBlock(text, sizingMarkdown(sizing));
  writeFileSync(readmePath, text);
}

/** The e2e probe as it ran; a result written before its polls were paced polled every 5 ms, 50 probes a second. */
function probeSettings(v: E2eResult["visibleLatencyMs"]): string {
  if (v.pollsPerS === undefined) return "probe at 50/s during that load, each polling every 5 ms";
  return `probe at ${v.probeRps}/s during that load, its polls paced to ${v.pollsPerS}/s in all, ${(v.polls ?? 0).toLocaleString("en-US")} made`;
}

/** Whether mean(on) / mean(off) reaches `goal`, judged before rounding (0.897 prints as 0.90×). */
function atLeast(on: number[], off: number[], goal: number): string {
  if (!on.length || !off.length) return "not measured";
  return mean(on) / mean(off) >= goal ? "met" : "missed";
}
