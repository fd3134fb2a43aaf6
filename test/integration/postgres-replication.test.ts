// /health/detailed's postgres check against real streaming replication (issue #12 item 3): a
// private primary (harness) and a standby cloned from it with pg_basebackup -R. On the primary
// the check reports role primary and its replica; on the standby, role standby and its replay
// lag (now() - pg_last_xact_replay_timestamp()), which is small right after a write.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chownSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, type Sql } from "../../shared/db/client.ts";
import { postgresCheck } from "../../shared/health/checks.ts";
import { freePort, type PostgresServer, startPostgresServer, waitFor } from "./harness.ts";

const BIN = (() => {
  const base = "/usr/lib/postgresql";
  const version = readdirSync(base)
    .filter((v) => Bun.file(join(base, v, "bin", "pg_basebackup")).size > 0)
    .sort((a, b) => Number(a) - Number(b))
    .pop();
  return (name: string) => join(base, version!, "bin", name);
})();
// As root the servers run as user postgres (as the harness's primary does).
const asRoot = process.getuid?.() === 0;
const asPg = (cmd: string[]) => (asRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd);
function run(cmd: string[], env: Record<string, string> = {}): void {
  const p = Bun.spawnSync(asPg(cmd), { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  if (p.exitCode !== 0) throw new Error(`${cmd[0]} failed: ${p.stderr.toString()}`);
}

let primary: PostgresServer;
let dir: string;
let standbyData: string;
let onPrimary: Sql;
let onStandby: Sql;

beforeAll(async () => {
  primary = await startPostgresServer();
  primary.psql("create role replicator replication login password 'replicator-test-password'");
  dir = mkdtempSync(join(tmpdir(), "hookline-standby-"));
  if (asRoot) {
    const [uid, gid] = ["-u", "-g"].map((f) => Number(Bun.spawnSync(["id", f, "postgres"]).stdout.toString()));
    chownSync(dir, uid!, gid!);
  }
  standbyData = join(dir, "data");
  // -R writes standby.signal and primary_conninfo: the clone starts as a streaming standby.
  run(
    [BIN("pg_basebackup"), "-h", "127.0.0.1", "-p", String(primary.port), "-U", "replicator", "-D", standbyData, "-R"],
    { PGPASSWORD: "replicator-test-password" },
  );
  const port = await freePort();
  run([
    BIN("pg_ctl"),
    "-D",
    standbyData,
    "-l",
    join(dir, "log"),
    "-w",
    "-o",
    `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir}`,
    "start",
  ]);
  onPrimary = createDb(primary.url, { name: "hookline-test", max: 1 });
  onStandby = createDb(primary.url.replace(`:${primary.port}/`, `:${port}/`), { name: "hookline-test", max: 1 });
});

afterAll(async () => {
  await onPrimary?.end();
  await onStandby?.end();
  if (standbyData) Bun.spawnSync(asPg([BIN("pg_ctl"), "-D", standbyData, "-m", "immediate", "-w", "stop"]));
  if (dir) rmSync(dir, { recursive: true, force: true });
  await primary?.stop();
});

test("on the primary: role primary, its streaming replica counted", async () => {
  const result = await waitFor("the replica streaming", async () => {
    const r = await postgresCheck(onPrimary).run();
    return r.replicas === 1 ? r : undefined;
  });
  expect(result).toMatchObject({ status: "healthy", reachable: true, role: "primary", replicas: 1 });
});

test("on the standby: role standby and its replay lag, seconds after a write on the primary", async () => {
  await onPrimary`create table if not exists replicated (n int)`;
  await onPrimary`insert into replicated values (1)`;
  await waitFor(
    "the write replayed",
    async () => (await onStandby`select count(*)::int as n from replicated`)[0]?.n === 1,
  );
  const result = await postgresCheck(onStandby).run();
  expect(result).toMatchObject({ status: "healthy", reachable: true, role: "standby" });
  expect(result.replicationLagSeconds).toBeGreaterThanOrEqual(0);
  // Generous: replayed moments ago on this machine, whatever its load.
  expect(result.replicationLagSeconds).toBeLessThan(30);
});
