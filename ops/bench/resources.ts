// CPU seconds and peak RSS of processes, from /proc (Linux): utime+stime in clock ticks
// from /proc/<pid>/stat, VmHWM (peak resident set) and VmRSS from /proc/<pid>/status.
import { readdirSync, readFileSync } from "node:fs";

const TICKS = 100; // USER_HZ on Linux is 100 on every mainstream architecture.

function cpuSeconds(pid: number, task?: number): number {
  try {
    const stat = readFileSync(task === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${task}/stat`, "utf8");
    // The command name can hold spaces: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

function rssMb(pid: number, field: "VmHWM" | "VmRSS" = "VmRSS"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : 0;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of each thread of a process by thread name (/proc/<pid>/task/<tid>/comm), threads
 * of one name summed: where a process's CPU goes besides its main (JS) thread, which a CPU
 * profile samples (garbage collector helpers, JIT compiler threads, I/O threads).
 */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let name: string;
    try {
      name = Number(tid) === pid ? "(main)" : readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
    } catch {
      continue;
    }
    // Numbered pools ("HeapHelper 3") as one name.
    const key = name.replace(/[\s#_-]*\d+$/, "");
    out.set(key, (out.get(key) ?? 0) + cpuSeconds(pid, Number(tid)));
  }
  return out;
}

export interface ResourceUsage {
  cpuSeconds: number;
  peakRssMb: number;
}

/**
 * A process's whole life so far: CPU seconds since it started and its peak resident set
 * (VmHWM), start-up included. For processes that live only for the phase measured.
 */
export function lifetimeUsage(pid: number): ResourceUsage {
  return { cpuSeconds: Math.round(cpuSeconds(pid) * 100) / 100, peakRssMb: rssMb(pid, "VmHWM") };
}

/**
 * Meters a set of named processes over a phase: CPU is the delta over the phase, RSS the
 * peak of 4 Hz samples (VmHWM would include start-up peaks from before the phase).
 */
export function meter(pids: Record<string, number>): { stop(): Record<string, ResourceUsage> } {
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const peak: Record<string, number> = Object.fromEntries(Object.keys(pids).map((k) => [k, 0]));
  const sample = () => {
    for (const [k, pid] of Object.entries(pids)) peak[k] = Math.max(peak[k]!, rssMb(pid));
  };
  sample();
  const timer = setInterval(sample, 250);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return Object.fromEntries(
        Object.entries(pids).map(([k, pid]) => [
          k,
          { cpuSeconds: Math.round((cpuSeconds(pid) - start[k]!) * 100) / 100, peakRssMb: peak[k]! },
        ]),
      );
    },
  };
}
