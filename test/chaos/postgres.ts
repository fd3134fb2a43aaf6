// The chaos suite's own Postgres: a private cluster in a temp dir on a free port (never the
// shared one on :5432, which other test runs use), which a fault may stop, kill and start again
// on the same data directory.
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../integration/harness.ts";

export interface ChaosPostgres {
  /** postgres://hookline:hookline@127.0.0.1:<port>/hookline */
  url: string;
  start(): void;
  /** pg_ctl stop -m fast: clients are disconnected, the port closes. */
  stop(): void;
  /** SIGKILL of the postmaster: its backends exit on their own, crash recovery on the next start. */
  kill(): void;
  dispose(): void;
}

function serverBin(): (name: string) => string {
  const base = "/usr/lib/postgresql";
  const version = readdirSync(base)
    .filter((v) => Bun.file(join(base, v, "bin", "initdb")).size > 0)
    .sort((a, b) => Number(a) - Number(b))
    .pop();
  if (!version) throw new Error("no PostgreSQL server binaries under /usr/lib/postgresql; run ./ops/setup");
  return (name) => join(base, version, "bin", name);
}

export async function startChaosPostgres(): Promise<ChaosPostgres> {
  const bin = serverBin();
  // As root the server runs as user postgres (initdb refuses root).
  const asRoot = process.getuid?.() === 0;
  const id = (flag: string) => Number(Bun.spawnSync(["id", flag, "postgres"]).stdout.toString().trim());
  const asPg = (cmd: string[]) => (asRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd);
  const run = (cmd: string[], check = true) => {
    const p = Bun.spawnSync(asPg(cmd), { stdout: "pipe", stderr: "pipe" });
    if (check && p.exitCode !== 0) throw new Error(`${cmd[0]} failed: ${p.stderr.toString()}${p.stdout.toString()}`);
    return p.stdout.toString();
  };
  const dir = mkdtempSync(join(tmpdir(), "hookline-chaos-pg-"));
  if (asRoot) chownSync(dir, id("-u"), id("-g"));
  const data = join(dir, "data");
  run([bin("initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]);
  const port = await freePort();
  // fsync on, as in production: a SIGKILL must not be survivable only thanks to fsync=off.
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c max_connections=100`;
  const pg: ChaosPostgres = {
    url: `postgres://hookline:hookline@127.0.0.1:${port}/hookline`,
    start() {
      run([bin("pg_ctl"), "-D", data, "-l", join(dir, "log"), "-w", "-t", "60", "-o", options, "start"]);
    },
    stop() {
      run([bin("pg_ctl"), "-D", data, "-m", "fast", "-w", "-t", "60", "stop"], false);
    },
    kill() {
      const pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
      process.kill(pid, "SIGKILL");
      // Wait for the port to be free of the old backends before a start.
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        Bun.sleepSync(50);
      }
    },
    dispose() {
      run([bin("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], false);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  pg.start();
  const psql = (sql: string) =>
    run([
      "psql",
      "-h",
      dir,
      "-p",
      String(port),
      "-U",
      "postgres",
      "-d",
      "postgres",
      "-v",
      "ON_ERROR_STOP=1",
      "-qtAc",
      sql,
    ]);
  psql("create role hookline login password 'hookline'");
  psql("create database hookline owner hookline");
  return pg;
}
