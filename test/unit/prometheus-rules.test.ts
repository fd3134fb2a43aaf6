// The Prometheus rules and config under ops/prometheus, checked and unit-tested by promtool
// (Debian's prometheus package, installed by ops/setup): each alert fires on the condition it
// names and stays quiet on its near miss (ops/prometheus/hookline.rules.test.yml).
import { expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const DIR = join(import.meta.dir, "..", "..", "ops", "prometheus");
const RULE_TESTS = readdirSync(DIR).filter((f) => f.endsWith(".test.yml"));
// promtool evaluates the rules at every step of each test's history: seconds, not milliseconds.
const SLOW = 60_000;

function promtool(...args: string[]): { ok: boolean; output: string } {
  const run = Bun.spawnSync(["promtool", ...args], { cwd: DIR, stdout: "pipe", stderr: "pipe" });
  return { ok: run.exitCode === 0, output: run.stdout.toString() + run.stderr.toString() };
}

test("promtool check rules: the rules parse and their expressions are valid PromQL", () => {
  const { ok, output } = promtool("check", "rules", "hookline.rules.yml");
  expect(output).toContain("SUCCESS");
  expect(ok).toBe(true);
});

test(
  "promtool test rules: every alert fires on its condition and not on its near miss",
  () => {
    expect(RULE_TESTS).toEqual(["hookline.rules.test.yml", "hookline.silent.test.yml"]);
    const { ok, output } = promtool("test", "rules", ...RULE_TESTS);
    expect(output).not.toContain("FAILED");
    expect(ok).toBe(true);
  },
  SLOW,
);

test("promtool check config: the local Prometheus config (./ops/up --observe) is valid and loads the rules", () => {
  const { ok, output } = promtool("check", "config", "prometheus.yml");
  expect(output).toContain("1 rule files found");
  expect(ok).toBe(true);
});

test(
  "promtool test rules fails when an alert's condition is broken (the tests can fail)",
  () => {
    const dir = mkdtempSync(join(tmpdir(), "hookline-rules-"));
    try {
      // The service-down alert inverted: its test must now fail.
      const rules = readFileSync(join(DIR, "hookline.rules.yml"), "utf8");
      const broken = rules.replace('up{job=~"hookline-(ingress|projector|dashboard)"} == 0', "up == 1");
      expect(broken).not.toBe(rules);
      writeFileSync(join(dir, "hookline.rules.yml"), broken);
      copyFileSync(join(DIR, "hookline.rules.test.yml"), join(dir, "hookline.rules.test.yml"));
      const run = Bun.spawnSync(["promtool", "test", "rules", "hookline.rules.test.yml"], { cwd: dir, stderr: "pipe" });
      expect(run.stderr.toString()).toContain("alertname: HooklineServiceDown");
      expect(run.exitCode).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  SLOW,
);
