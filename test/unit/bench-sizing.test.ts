// ops/bench/sizing.ts: the README's sizing table is arithmetic on bench figures; these pin it.
import { expect, test } from "bun:test";
import type { BenchReport } from "../../ops/bench/report.ts";
import { mergeReports, planRate, sizingInputs, sizingMarkdown } from "../../ops/bench/sizing.ts";

const usage = (cpuSeconds: number, peakRssMb: number) => ({ cpuSeconds, peakRssMb });

// 100,000 webhooks: ingress 5 CPU s (50 µs each), NATS 2 s to store (20 µs) and 1 s to
// deliver (10 µs); projector 20 CPU s for 100,000 events (200 µs) at 5,000 events/s.
const ingestReport = {
  startedAt: "2026-01-02T03:04:05.000Z",
  machine: { cpu: "Test CPU", nproc: 2 },
  options: { repeats: 2 },
  ingest: { points: [{ connections: 64, results: { hookline: { ok: 50_000 } } }] },
  projector: null,
  e2e: null,
  resources: {
    ingest: { hookline: { ingress: usage(5, 150), "nats-server": usage(2, 100) } },
    e2e: { dashboard: usage(4, 110) },
  },
} as unknown as BenchReport;

const projectorReport = {
  ...ingestReport,
  ingest: null,
  resources: { ingest: null, e2e: null },
  projector: {
    runs: [
      {
        processes: 1,
        events: 100_000,
        seconds: 20,
        rate: 5_000,
        complete: true,
        resources: { projector: usage(20, 330), "nats-server": usage(1, 120) },
      },
    ],
    copy: { rows: 100_000, seconds: 8, rate: 12_500 },
    ratios: { oneVsCopy: 0.4, twoVsOne: 0.8 },
  },
} as unknown as BenchReport;

test("inputs need both the ingest figures and a metered 1-process drain", () => {
  expect(sizingInputs(ingestReport)).toBeNull();
  expect(sizingInputs(projectorReport)).toBeNull();
  const i = sizingInputs(mergeReports([ingestReport, projectorReport]))!;
  // Resources add up both repeats; the result is the median of one.
  expect(i.ingress).toEqual({ cpuSeconds: 5, webhooks: 100_000, peakRssMb: 150 });
  expect(i.projector.copyRate).toBe(12_500);
  expect(i.dashboardPeak?.mb).toBe(110);
});

test("pods and requests: cost × rate at ≤ 50 %, one core a pod, floors and minimums", () => {
  const i = sizingInputs(mergeReports([ingestReport, projectorReport]))!;
  const small = planRate(i, 10_000);
  expect(small.ingress).toMatchObject({ pods: 2, cpuMilli: 100, memoryMi: 160 });
  expect(small.projector).toMatchObject({ pods: 1, cpuMilli: 100, memoryMi: 352 });
  expect(small.dashboard).toMatchObject({ pods: 2, cpuMilli: 100, memoryMi: 128 });
  // 1M/min = 16,667/s. Ingress: × 50 µs = 0.83 cores, ÷ 0.5 = 1.67 → 2 pods of 850m.
  const big = planRate(i, 1_000_000);
  expect(big.ingress).toMatchObject({ pods: 2, cpuMilli: 850 });
  // Projector: 16,667 ÷ (5,000 × 0.5) = 6.7 → 7 pods; 16,667 × 200 µs ÷ 0.5 = 6.67 cores ÷ 7 → 1000m.
  expect(big.projector).toMatchObject({ pods: 7, cpuMilli: 1000 });
  // NATS: 3 servers, 16,667 × 30 µs ÷ 0.5 = 1.0 cores each.
  expect(big.nats).toMatchObject({ pods: 3, cpuMilli: 1000, memoryMi: 128 });
});

test("the markdown shows the inputs, the table and the arithmetic", () => {
  const md = sizingMarkdown(sizingInputs(mergeReports([ingestReport, projectorReport]))!);
  expect(md).toContain("5.00 CPU s for 100,000 webhooks acknowledged = 50 µs each");
  expect(md).toContain(
    "| 1,000,000 | 16,667 | 2 × 850m / 160Mi | 7 × 1000m / 352Mi | 3 × 1000m / 128Mi | 2 × 100m / 128Mi |",
  );
  expect(md).toContain("16,667/s × 50 µs = 0.83 cores, ÷ 0.5 = 1.67 → 2 pods");
});

test("the dashboard is sized by its larger peak: the end-to-end run's or the dashboard suite's", () => {
  const suite = (peakRssMb: number) =>
    ({
      ...projectorReport,
      projector: null,
      dashboard: { patients: 1_000_000, dashboardProcess: usage(30, peakRssMb) },
    }) as unknown as BenchReport;
  // The suite (API reads at 1M patients) peaked above the e2e run's 110 MiB: it sizes the pods.
  const i = sizingInputs(mergeReports([ingestReport, projectorReport, suite(181)]))!;
  expect(i.dashboardPeak?.mb).toBe(181);
  expect(planRate(i, 10_000).dashboard).toMatchObject({ memoryMi: 192 });
  expect(sizingMarkdown(i)).toContain(
    "dashboard: peak RSS 181 MiB in the dashboard suite (API reads at 1,000,000 patients)",
  );
  // Below it, the e2e run's peak stands.
  const j = sizingInputs(mergeReports([ingestReport, projectorReport, suite(90)]))!;
  expect(j.dashboardPeak?.mb).toBe(110);
  expect(sizingMarkdown(j)).toContain("dashboard: peak RSS 110 MiB in the end-to-end run");
});
