// Applies numbered migrations (NNN_name.sql) in order, each in its own transaction,
// under a Postgres advisory lock so several pods starting at once apply each exactly once.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Sql } from "postgres";
import { EMBEDDED_MIGRATIONS } from "./migrations/index.ts";

// Arbitrary but fixed: "hookline" in ASCII, folded into a bigint.
const LOCK_KEY = 0x686f6f6b6c696e65n;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The migrations: without `dir`, the ones embedded in the code (shared/db/migrations/index.ts,
 * so a compiled executable needs no files beside it); with `dir`, the NNN_name.sql files there.
 */
export function readMigrations(dir?: string): Migration[] {
  const files =
    dir === undefined
      ? EMBEDDED_MIGRATIONS
      : Object.fromEntries(
          readdirSync(dir)
            .filter((f) => f.endsWith(".sql"))
            .map((f) => [f, readFileSync(join(dir, f), "utf8")]),
        );
  const seen = new Set<number>();
  return (
    Object.entries(files)
      .map(([file, sql]) => {
        const match = /^(\d+)_([\w-]+)\.sql$/.exec(file);
        if (!match) throw new Error(`migration file "${file}" must be named NNN_name.sql`);
        const version = Number(match[1]);
        if (seen.has(version)) throw new Error(`two migrations share version ${version}`);
        seen.add(version);
        return { version, name: match[2]!, sql };
      })
      // By number, not by name: 10_x comes after 9_y.
      .sort((a, b) => a.version - b.version)
  );
}

/** Returns the versions applied by this call (empty when the schema was current). */
export async function migrate(sql: Sql, migrations = readMigrations()): Promise<number[]> {
  const applied: number[] = [];
  // reserve() pins one connection: advisory locks belong to a session.
  const conn = await sql.reserve();
  try {
    await conn`select pg_advisory_lock(${LOCK_KEY.toString()}::bigint)`;
    await conn`create table if not exists schema_migrations (
      version int primary key, name text not null, applied_at timestamptz not null default now())`;
    const done = new Set(
      (await conn<{ version: number }[]>`select version from schema_migrations`).map((r) => r.version),
    );
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await conn`begin`;
      try {
        await conn.unsafe(m.sql);
        await conn`insert into schema_migrations (version, name) values (${m.version}, ${m.name})`;
        await conn`commit`;
      } catch (error) {
        await conn`rollback`;
        throw Object.assign(
          new Error(`migration ${m.version}_${m.name} failed: ${(error as Error).message}`, { cause: error }),
          {
            code: "migration_failed",
          },
        );
      }
      applied.push(m.version);
    }
  } finally {
    await conn`select pg_advisory_unlock(${LOCK_KEY.toString()}::bigint)`.catch(() => {});
    conn.release();
  }
  return applied;
}
