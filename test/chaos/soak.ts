// ops/chaos soak --minutes N: the steady load on three NATS nodes for N minutes, no fault. Every
// minute: each service's RSS, the projector's lag, the senders' latency. Fails when a process's
// memory keeps growing (see growsWithoutBound), or anything acknowledged is lost or doubled.
import { readFileSync } from "node:fs";
import { PROFILES } from "./faults.ts";
import { Load } from "./load.ts";
import { drainAndVerify } from "./run.ts";
import { startTopology } from "./topology.ts";

const rssMiB = (pid: number) => {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
};

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;

/**
 * Memory grows without bound when, after the first minute (start-up and JIT warm-up), every
 * later third of the samples sits higher than the one before it by more than 10% and the
 * last sample is more than 1.5× the first kept one. A heap that levels off (however high)
 * passes; one that climbs minute after minute fails. Needs at least 4 samples past warm-up.
 */
export function growsWithoutBound(samples: number[]): boolean {
  const kept = samples.slice(1);
  if (kept.length < 4) return false;
  const third = Math.floor(kept.length / 3) || 1;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const parts = [kept.slice(0, third), kept.slice(third, 2 * third), kept.slice(2 * third)].map(mean);
  const climbing = parts[1]! > parts[0]! * 1.1 && parts[2]! > parts[1]! * 1.1;
  return climbing && kept.at(-1)! > kept[0]! * 1.5;
}

export async function runSoak(minutes: number): Promise<boolean> {
  if (!Number.isFinite(minutes) || minutes < 1) throw new Error("soak: --minutes must be 1 or more");
  const topo = await startTopology({ natsNodes: 3 });
  const load = new Load({
    targets: topo.ingress.map((s) => s.url),
    rate: PROFILES.full.rate,
    timeoutMs: 10_000,
    runTag: `s${Date.now().toString(36)}`,
  });
  const problems: string[] = [];
  const services = () => [
    ...topo.ingress.map((s, i) => [`ingress${i + 1}`, s.proc.pid] as const),
    ...topo.projector.map((s, i) => [`projector${i + 1}`, s.proc.pid] as const),
    ["dashboard", topo.dashboard.proc.pid] as const,
  ];
  const rss = new Map<string, number[]>();
  try {
    load.setWindow("soak");
    load.start();
    console.log("| minute | acked | p50 ms | p99 ms | lag (pending+unacked) | RSS MiB per process |");
    console.log("| ---: | ---: | ---: | ---: | ---: | --- |");
    for (let minute = 1; minute <= minutes; minute++) {
      await Bun.sleep(60_000);
      const lat = load.takeLatencies().sort((a, b) => a - b);
      const b = await topo.backlog();
      const now = services().map(([name, pid]) => {
        const mib = rssMiB(pid);
        rss.set(name, [...(rss.get(name) ?? []), mib]);
        return `${name} ${mib}`;
      });
      console.log(
        `| ${minute} | ${load.acked.length} | ${percentile(lat, 50)} | ${percentile(lat, 99)} | ${b.pending + b.ackPending} | ${now.join(", ")} |`,
      );
    }
    const verified = await drainAndVerify(topo, load, ["soak"], problems);
    const w = verified.windows[0]!;
    console.log(`soak: acked ${w.acked}, stored ${w.stored}, lost ${w.lost}, duplicated ${w.duplicated}`);
    if (w.lost || w.duplicated) problems.push(`lost ${w.lost}, duplicated ${w.duplicated}`);
    if (verified.duplicatePatients) problems.push(`${verified.duplicatePatients} duplicate patients`);
    for (const [name, samples] of rss)
      if (growsWithoutBound(samples)) problems.push(`${name}: RSS grows without bound (${samples.join(" → ")} MiB)`);
  } finally {
    await load.stop(false).catch(() => {});
    await topo.close();
  }
  for (const p of problems) console.log(`  FAIL ${p}`);
  console.log(`chaos soak (${minutes} min): ${problems.length ? "FAILED" : "passed"}`);
  return problems.length === 0;
}
