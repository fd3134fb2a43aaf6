// Waiting for a quiet machine before a latency is measured. The dashboard suite runs last in a
// full run, after suites that leave work behind (a dropped database's files, autovacuum, the
// page cache refilled): its detail p95 was 11.3 ms there (load average 3.1 at its start) and
// 8.5-10.2 ms alone. The 1-minute load average lags by a minute, so the cores' busy share is
// read from /proc/stat directly, a second at a time, until one second is quiet.
import { readFileSync } from "node:fs";

/** The whole machine's CPU time so far (the first line of /proc/stat), in clock ticks. */
export interface CpuTimes {
  busy: number;
  total: number;
}

/** The first ("cpu") line of /proc/stat as busy and total ticks; iowait counts as idle. */
export function parseCpuLine(stat: string): CpuTimes {
  const line = stat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) throw new Error("no cpu line in /proc/stat");
  // user nice system idle iowait irq softirq steal (guest time is already in user and nice).
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map((x) => Number(x) || 0) as [number, number, number, number, number, number, number, number];
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** The busy share of the cores between two readings, 0 to 1. */
export function busyShare(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  return total > 0 ? (after.busy - before.busy) / total : 0;
}

export interface Quiet {
  /** Seconds waited before a quiet second (or the limit). */
  waitedS: number;
  /** The busy share of the cores in the last second read, in percent. */
  busyPct: number;
  /** False when the limit came first. */
  quiet: boolean;
}

/**
 * Resolves after the first second in which the cores were busy less than `maxBusy` (default
 * 10%), or after `limitS` seconds (default 60) without one.
 *
 * @example
 *   const q = await waitForQuiet();
 *   progress(`quiet after ${q.waitedS} s (${q.busyPct}% busy)`);
 */
export async function waitForQuiet(
  opts: { maxBusy?: number; limitS?: number; read?: () => string } = {},
): Promise<Quiet> {
  const { maxBusy = 0.1, limitS = 60, read = () => readFileSync("/proc/stat", "utf8") } = opts;
  const started = performance.now();
  let before = parseCpuLine(read());
  for (;;) {
    await Bun.sleep(1000);
    const after = parseCpuLine(read());
    const share = busyShare(before, after);
    const waitedS = Math.round((performance.now() - started) / 1000);
    const busyPct = Math.round(share * 1000) / 10;
    if (share < maxBusy) return { waitedS, busyPct, quiet: true };
    if (waitedS >= limitS) return { waitedS, busyPct, quiet: false };
    before = after;
  }
}
