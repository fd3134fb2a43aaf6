// Child processes the bench starts itself (nats-server, services, peers): spawned with
// their output in a log file, stopped by their own pid only, and always reaped on exit.
import { closeSync, mkdirSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { Subprocess } from "bun";

export interface Managed {
  name: string;
  pid: number;
  log: string;
  proc: Subprocess;
  stop(): Promise<void>;
}

const running = new Set<Managed>();

export interface SpawnOptions {
  name: string;
  cmd: string[];
  env?: Record<string, string>;
  cwd: string;
  logDir: string;
}

export function spawnManaged(opts: SpawnOptions): Managed {
  mkdirSync(opts.logDir, { recursive: true });
  const log = join(opts.logDir, `${opts.name}.log`);
  const fd = openSync(log, "a");
  const proc = Bun.spawn(opts.cmd, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdout: fd,
    stderr: fd,
    stdin: "ignore",
  });
  closeSync(fd);
  const managed: Managed = {
    name: opts.name,
    pid: proc.pid,
    log,
    proc,
    async stop() {
      running.delete(managed);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      // A graceful drain is short; a stuck child is killed so the bench stays bounded.
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 8000));
      if ((await Promise.race([proc.exited, timeout])) === "timeout") {
        proc.kill("SIGKILL");
        await proc.exited;
      }
    },
  };
  running.add(managed);
  return managed;
}

/** Stops everything still running, newest first (services before their NATS). */
export async function stopAll(): Promise<void> {
  for (const m of [...running].reverse()) await m.stop().catch(() => {});
}

/** Kills children synchronously: the last resort on an uncaught error or signal. */
export function killAllSync(): void {
  for (const m of running) {
    try {
      m.proc.kill("SIGKILL");
    } catch {}
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 2xx; fails with the child's log path after `seconds`. */
export async function waitHttp(url: string, seconds: number, who?: Managed): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (who && who.proc.exitCode !== null)
      throw new Error(`${who.name} exited with ${who.proc.exitCode}; see ${who.log}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {}
    await Bun.sleep(100);
  }
  throw new Error(`${url} not ready after ${seconds}s${who ? `; see ${who.log}` : ""}`);
}

export async function waitTcp(port: number, seconds: number, who?: Managed): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (who && who.proc.exitCode !== null)
      throw new Error(`${who.name} exited with ${who.proc.exitCode}; see ${who.log}`);
    try {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      socket.end();
      return;
    } catch {}
    await Bun.sleep(100);
  }
  throw new Error(`port ${port} not open after ${seconds}s${who ? `; see ${who.log}` : ""}`);
}

/** Runs a command to completion (bounded), returning stdout; throws with stderr on failure. */
export async function run(
  cmd: string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<string> {
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err.trim() || out.trim()}`.slice(0, 2000));
  return out;
}
