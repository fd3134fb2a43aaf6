// The bench's own databases. The role hookline cannot CREATE DATABASE, so this goes
// through ops/lib.sh's psql_admin (superuser over the cluster's socket), as ops/up does.
import { run } from "./procs.ts";

// One database per run (suffix = run tag), dropped at the end: two bench runs at once
// (a developer's and the smoke test under ./ops/test) must not drop each other's data.
export const benchDb = (tag: string) => `hookline_bench_${tag}`;
export const projectorDb = (tag: string) => `hookline_bench_proj_${tag}`;

export const dbUrl = (name: string) => `postgres://hookline:hookline@127.0.0.1:5432/${name}`;

/** Drops (with force) and recreates database `name`, owned by hookline: a clean slate. */
export async function recreateDatabase(root: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
  const script = `source ops/lib.sh; psql_admin -d postgres -c 'drop database if exists ${name} with (force)' >/dev/null; ensure_database ${name}`;
  await run(["bash", "-c", script], { cwd: root, timeoutMs: 60_000 });
}

export async function dropDatabase(root: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
  await run(
    [
      "bash",
      "-c",
      `source ops/lib.sh; psql_admin -d postgres -c 'drop database if exists ${name} with (force)' >/dev/null`,
    ],
    { cwd: root, timeoutMs: 60_000 },
  );
}

/**
 * Reads every table and index of database `name` into the OS page cache (pg_prewarm, mode
 * "read"), and returns the MB read. A kept dashboard database (--dashboard-keep-db) is not in the
 * cache after a reboot or once other work pushed it out: at 1M patients the detail's p95 was
 * 157 ms on the first run after a restart and 9 ms once its 4 GB had been read; the freshly
 * seeded database is in the cache from its writing. pg_prewarm is a contrib extension (Debian's
 * postgresql package ships it); creating it takes the superuser, as creating the database does.
 */
export async function prewarmDatabase(root: string, name: string): Promise<number> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
  const sql = [
    "create extension if not exists pg_prewarm",
    "select coalesce(sum(pg_prewarm(c.oid, 'read')), 0) * current_setting('block_size')::int / 1048576" +
      " from pg_class c where c.relkind in ('r', 'i', 't', 'm') and c.relpersistence = 'p'" +
      " and c.relnamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)",
  ];
  const out = await run(["bash", "-c", `source ops/lib.sh; psql_admin -d ${name} -c "${sql[0]}" -c "${sql[1]}"`], {
    cwd: root,
    timeoutMs: 600_000,
  });
  return Math.round(Number(out.trim().split("\n").pop()));
}

/** Applies migrations and provisions streams via ops/provision.ts (the real one). */
export async function provision(root: string, natsUrl: string, databaseUrl: string): Promise<void> {
  await run(["bun", "ops/provision.ts"], {
    cwd: root,
    env: { NATS_URL: natsUrl, DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" },
    timeoutMs: 60_000,
  });
}

/** psql as hookline: used for COPY (the reference) and counts. */
export async function psql(root: string, databaseUrl: string, sql: string, stdinFile?: string): Promise<string> {
  const args = ["psql", databaseUrl, "-v", "ON_ERROR_STOP=1", "-qtA", "-c", sql];
  if (!stdinFile) return run(args, { cwd: root, timeoutMs: 300_000 });
  return run(["bash", "-c", `psql "$1" -v ON_ERROR_STOP=1 -qtA -c "$2" < "$3"`, "psql", databaseUrl, sql, stdinFile], {
    cwd: root,
    timeoutMs: 300_000,
  });
}
