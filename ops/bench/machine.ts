// What the figures were measured on: they mean nothing without it.
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";

export interface Machine {
  cpu: string;
  nproc: number;
  memoryGb: number;
  kernel: string;
  versions: Record<string, string>;
  /** 1-minute load average when the run started: other work on the cores skews every absolute figure. */
  loadAverage?: number;
}

function firstLine(cmd: string[]): string {
  try {
    const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
    return (r.stdout.toString() + r.stderr.toString()).trim().split("\n")[0] ?? "?";
  } catch {
    return "not found";
  }
}

export function describeMachine(): Machine {
  let cpu = cpus()[0]?.model ?? "unknown";
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpu;
  } catch {}
  return {
    cpu,
    nproc: Number(firstLine(["nproc"])) || cpus().length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    kernel: firstLine(["uname", "-r"]),
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    versions: {
      bun: Bun.version,
      node: firstLine(["node", "--version"]),
      "nats-server": firstLine(["nats-server", "--version"]).replace(/^nats-server:\s*/, ""),
      postgres: firstLine(["psql", "--version"]).replace(/^psql \(PostgreSQL\)\s*/, ""),
      redis: firstLine(["redis-server", "--version"]).split(" ")[2]?.replace("v=", "") ?? "?",
      wrk: firstLine(["wrk", "--version"]).split(" ").slice(0, 2).join(" "),
    },
  };
}
