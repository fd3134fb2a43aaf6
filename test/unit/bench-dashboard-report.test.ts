// ops/bench/dashboard.ts: the suite's paragraph says how its database came to be and what the
// dashboard process used (the sizing plans the dashboard's memory from that peak).
import { expect, test } from "bun:test";
import { type DashboardResult, dashboardMarkdown, judgeGoal } from "../../ops/bench/dashboard.ts";

const latency = { p50: 5, p95: 9, p99: 12, max: 20 };
const result = (seed: DashboardResult["seed"]): DashboardResult => ({
  patients: 1_000_000,
  seed,
  concurrency: 8,
  seconds: 10,
  results: { detail: { rps: 1400, latencyMs: latency, errors: 0 } } as unknown as DashboardResult["results"],
  firstRowsMs: null,
  firstRowsError: "not asked for",
  goals: [judgeGoal("detail p95", 10, 9)],
  loadAverage: 0.5,
  dashboardProcess: { cpuSeconds: 51.2, peakRssMb: 175.7 },
});

test("a freshly seeded database: the COPY and index times", () => {
  const md = dashboardMarkdown(result({ patients: 1_000_000, submissions: 1_364_116, seconds: 240, indexSeconds: 35 }));
  expect(md).toContain("(seeded by COPY in 240 s + 35 s of index builds; 1,364,116 submissions)");
  expect(md).toContain("The dashboard process over the suite: 51.2 CPU s, peak RSS 175.7 MiB.");
});

test("a kept database: said so, with what was read into the page cache, never a 0 s seed", () => {
  const md = dashboardMarkdown(
    result({
      patients: 1_000_000,
      submissions: 1_364_116,
      seconds: 0,
      indexSeconds: 0,
      reused: { prewarmMb: 4114, prewarmSeconds: 5 },
    }),
  );
  expect(md).toContain(
    "seeded by an earlier run and kept (--dashboard-keep-db), its 4,114 MB read into the page cache in 5 s first",
  );
  expect(md).not.toContain("seeded by COPY in 0 s");
});

test("a goal is met only when measured within it with no request failed", () => {
  expect(judgeGoal("detail p95", 10, 9).met).toBe(true);
  expect(judgeGoal("detail p95", 10, 11).met).toBe(false);
  expect(judgeGoal("detail p95", 10, null).met).toBeNull();
  // Every request failed fast: a p95 of 0 ms is no measurement of the goal.
  const failed = judgeGoal("detail p95", 10, 0, 12_846);
  expect(failed.met).toBe(false);
  const md = dashboardMarkdown({
    ...result({ patients: 1, submissions: 1, seconds: 1, indexSeconds: 0 }),
    goals: [failed],
  });
  expect(md).toContain("detail p95 0 ms (goal ≤ 10: missed: 12,846 requests failed)");
});
