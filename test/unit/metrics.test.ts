// The metric table (shared/metrics.ts) follows the Prometheus naming conventions, and the
// README's metric list names exactly its metrics (issue #12 item 2). promtool's own check of
// each service's output runs in test/integration/metrics.test.ts.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { METRICS, type MetricSpec } from "../../shared/metrics.ts";

const specs: MetricSpec[] = Object.values(METRICS);
const UNITS = ["seconds", "bytes", "messages", "ratio", "info", "fds"];

test("names: a hookline_ or standard process_ prefix, snake case, unique", () => {
  for (const s of specs) expect(s.name).toMatch(/^(hookline|process)_[a-z0-9_]+[a-z0-9]$/);
  expect(new Set(specs.map((s) => s.name)).size).toBe(specs.length);
});

test("counters and only counters end in _total; histograms name their unit", () => {
  for (const s of specs) {
    expect(`${s.name} ${s.name.endsWith("_total")}`).toBe(`${s.name} ${s.type === "counter"}`);
    if (s.type === "histogram") expect(UNITS.some((u) => s.name.endsWith(`_${u}`))).toBe(true);
  }
});

test("no non-base units (milliseconds, kilobytes...) in any name", () => {
  for (const s of specs)
    expect(s.name).not.toMatch(/_(milli|micro|nano)?(ms|millis|milliseconds|kb|mb|kilobytes|megabytes|percent)(_|$)/);
});

test("every metric has help text; histograms have ascending buckets; labels are valid and not reserved", () => {
  for (const s of specs) {
    expect(s.help.length).toBeGreaterThan(10);
    for (const l of s.labels) {
      expect(l).toMatch(/^[a-z][a-z_]*$/);
      expect(["le", "quantile", "job", "instance"]).not.toContain(l);
    }
    if (s.type === "histogram") {
      const b = s.buckets ?? [];
      expect(b.length).toBeGreaterThan(3);
      expect(b.every((x, i) => i === 0 || x > b[i - 1]!)).toBe(true);
    } else expect(s.buckets).toBeUndefined();
  }
});

test("README's Traces and metrics section lists exactly the metrics of the table", () => {
  const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8").replace(/\s+/g, " ");
  const start = readme.indexOf("## Traces and metrics");
  // Up to the note on names that earlier versions used.
  const section = readme.slice(start, readme.indexOf("Renamed from earlier versions", start));
  const listed = new Set([...section.matchAll(/`((?:hookline|process)_[a-z0-9_]+)(?:\{[^`]*\})?`/g)].map((m) => m[1]!));
  expect([...specs.map((s) => s.name)].filter((n) => !listed.has(n))).toEqual([]);
  expect([...listed].filter((n) => !specs.some((s) => s.name === n))).toEqual([]);
});
