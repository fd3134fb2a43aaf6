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
