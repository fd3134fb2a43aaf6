// `--cpu-prof DIR`: where a projector's CPU time went, from the profiles `bun --cpu-prof` wrote
// (Chrome DevTools .cpuprofile: a call tree, and which node each sample hit for how long).
// Self time by function and by source file, the busiest first; "(idle)" is time waiting.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = resolve(import.meta.dir, "../..");

function where(url: string): string {
  const path = url.replace(/^file:\/\//, "");
  return path.startsWith(ROOT) ? relative(ROOT, path) : path || "(native)";
}

/** Self milliseconds by "function (file:line)" and by file, over every profile of this run. */
function selfTimes(profiles: CpuProfile[]): { byFunction: Map<string, number>; byFile: Map<string, number> } {
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const p of profiles) {
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < p.samples.length; i++) {
      const f = nodes.get(p.samples[i]!)?.callFrame;
      if (!f) continue;
      const ms = (p.timeDeltas[i] ?? 0) / 1000;
      const file = where(f.url);
      const fn = `${f.functionName || "(anonymous)"} (${file}:${f.lineNumber + 1})`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
      byFile.set(file, (byFile.get(file) ?? 0) + ms);
    }
  }
  return { byFunction, byFile };
}

function top(map: Map<string, number>, n: number, total: number): string {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, ms]) =>
        `  ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${Math.round(ms).toString().padStart(6)} ms  ${k}`,
    )
    .join("\n");
}

/** The top functions and files of the profiles in `dir` whose names contain `tag`, as text. */
export function summarizeProfiles(dir: string, tag: string): string {
  const files = readdirSync(dir).filter((f) => f.includes(tag) && f.endsWith(".cpuprofile"));
  const out: string[] = [];
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
    const { byFunction, byFile } = selfTimes([profile]);
    const total = [...byFile.values()].reduce((a, b) => a + b, 0);
    out.push(
      `${file} (${Math.round(total)} ms sampled)`,
      top(byFunction, 25, total),
      "  by file:",
      top(byFile, 15, total),
    );
  }
  return out.join("\n") || "(no profile written)";
}
