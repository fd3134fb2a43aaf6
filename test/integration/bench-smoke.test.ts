// The bench's smoke mode end to end: every suite at a tiny load against its own isolated
// processes (needs only the Postgres and Redis that ./ops/test starts). Checks the JSON
// schema and that each suite measured something real; asserts no speed (see design.md:
// speed is measured by ops/bench, never by timed assertions).
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, runCommand } from "./harness.ts";

/** The README text the bench owns (between its markers); the rest is others' to edit meanwhile. */
function benchSection(): string {
  const text = readFileSync(join(ROOT, "README.md"), "utf8");
  return text.slice(text.indexOf("<!-- bench:start -->"), text.indexOf("<!-- bench:end -->"));
}

describe("ops/bench --smoke", () => {
  test("runs every suite and writes the hookline-bench/2 JSON", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
    const out = join(dir, "bench.json");
    const readmeBefore = benchSection();
    try {
      const { stdout, stderr, code } = await runCommand([join(ROOT, "ops/bench/run"), "--smoke", "--json", out], {
        env: { ...process.env } as Record<string, string>,
        timeoutMs: 170_000,
      });
      if (code !== 0) console.error(stderr.slice(-4000));
      expect(code).toBe(0);
      expect(stdout).toContain("**Ingest**");

      const r = JSON.parse(readFileSync(out, "utf8"));
      expect(r.schema).toBe("hookline-bench/2");
      expect(r.smoke).toBe(true);
      expect(r.machine.nproc).toBeGreaterThan(0);

      const point = r.ingest.points[0];
      for (const target of ["hookline", "ceiling", "floor", "direct", "bull"]) {
        expect(point.results[target].ok).toBeGreaterThan(0);
        expect(point.results[target].errors).toBe(0);
        expect(point.results[target].latencyMs.p99).toBeGreaterThan(0);
      }
      expect(point.ratios.hooklineVsCeilingRps).toBeGreaterThan(0);
      expect(point.ratios.boundRps).toBeGreaterThan(0);
      expect(r.resources.ingest.hookline.ingress.cpuSeconds).toBeGreaterThan(0);

      // One process with encryption on, one with it off (bench only), two processes with it on.
      expect(
        r.projector.runs.map((d: { processes: number; encryption: string }) => [d.processes, d.encryption]),
      ).toEqual([
        [1, "on"],
        [1, "off"],
        [2, "on"],
      ]);
      for (const run of r.projector.runs) {
        expect(run.complete).toBe(true);
        expect(run.rowsWritten).toBe(r.projector.backlog);
        expect(run.resources.projector.cpuSeconds).toBeGreaterThan(0);
        expect(run.drainCpuSeconds).toBeGreaterThan(0);
      }
      expect(r.projector.copy.rows).toBe(r.projector.backlog);
      expect(r.projector.ratios.onVsOff).toBeGreaterThan(0);
      // Ingest with JetStream's store cipher on and off, in the same run.
      expect(r.encryption.on.length).toBeGreaterThan(0);
      expect(r.encryption.off.length).toBe(r.encryption.on.length);
      expect(r.encryption.onVsOff).toBeGreaterThan(0);

      expect(r.e2e.ingressAlone.errors).toBe(0);
      expect(r.e2e.pipeline.errors).toBe(0);
      expect(r.e2e.ingressAlone.latencyMs.p99).toBeGreaterThan(0);
      expect(r.e2e.visibleLatencyMs.found).toBe(r.e2e.visibleLatencyMs.samples);
      expect(r.e2e.visibleLatencyMs.found).toBeGreaterThan(0);
      expect(r.e2e.pipeline.backlogMax).toBeGreaterThanOrEqual(0);
      expect(typeof r.e2e.pipeline.backlogGrowthPerS).toBe("number");

      // A smoke run must leave the README's measured figures alone.
      expect(benchSection()).toBe(readmeBefore);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
