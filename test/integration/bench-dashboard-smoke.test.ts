// The bench's dashboard suite in smoke mode (2,000 patients, a second per request kind): its
// own database seeded by COPY, a real dashboard process, the closed loop over every request
// kind, and the page's first rows in headless Chromium. Checks the JSON and that every kind
// was measured without errors; asserts no speed (design.md: speed is measured by ops/bench).
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, runCommand } from "./harness.ts";

test("ops/bench/run dashboard --smoke seeds, measures every request kind and the page's first rows", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-dashboard-"));
  const out = join(dir, "bench.json");
  try {
    const { stdout, stderr, code } = await runCommand(
      [join(ROOT, "ops/bench/run"), "dashboard", "--smoke", "--json", out],
      {
        env: { ...process.env } as Record<string, string>,
        timeoutMs: 170_000,
      },
    );
    if (code !== 0) console.error(stderr.slice(-4000));
    expect(code).toBe(0);
    expect(stdout).toContain("**Dashboard** at 2,000 patients");
    const r = JSON.parse(readFileSync(out, "utf8"));
    expect(r.dashboard.patients).toBe(2000);
    expect(r.dashboard.seed.submissions).toBeGreaterThan(2000);
    expect(Object.keys(r.dashboard.results).sort()).toEqual(
      ["detail", "list", "search email", "search partial name", "search phone", "search typo"].sort(),
    );
    for (const [kind, res] of Object.entries(r.dashboard.results) as [string, { requests: number; errors: number }][])
      expect([kind, res.requests > 0, res.errors]).toEqual([kind, true, 0]);
    expect(r.dashboard.firstRowsMs?.tries.length).toBe(5);
    expect(r.dashboard.goals.map((g: { name: string }) => g.name)).toContain("first rows (median)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
