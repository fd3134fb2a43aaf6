// Several pods start at once: the advisory lock lets exactly one apply each migration.
import { afterAll, expect, test } from "bun:test";
import postgres from "postgres";
import { migrate, readMigrations } from "../../shared/db/migrate.ts";
import { DATABASE_URL } from "./harness.ts";

const schema = `migrate_test_${process.pid}`;
const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });

afterAll(async () => {
  await admin.unsafe(`drop schema if exists ${schema} cascade`);
  await admin.end();
});

test("concurrent migrate() calls apply every migration exactly once", async () => {
  await admin.unsafe(`create schema ${schema}`);
  // Each "pod" gets its own pool whose tables land in the fresh schema.
  const pods = Array.from({ length: 4 }, () =>
    postgres(DATABASE_URL, { max: 2, onnotice: () => {}, connection: { search_path: schema } }),
  );
  try {
    const results = await Promise.all(pods.map((sql) => migrate(sql)));
    const all = readMigrations().map((m) => m.version);
    expect(results.flat().sort((a, b) => a - b)).toEqual(all);
    expect(results.filter((r) => r.length > 0)).toHaveLength(1);
    const rows = await admin.unsafe(`select version from ${schema}.schema_migrations order by version`);
    expect(rows.map((r) => r.version)).toEqual(all);
    // And again: nothing left to do.
    expect(await migrate(pods[0]!)).toEqual([]);
  } finally {
    await Promise.all(pods.map((sql) => sql.end()));
  }
});

test("a failing migration rolls back and names itself", async () => {
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {}, connection: { search_path: schema } });
  try {
    const bad = [
      { version: 9999, name: "broken", sql: "create table half_done (id int); select * from no_such_table;" },
    ];
    await expect(migrate(sql, bad)).rejects.toThrow("migration 9999_broken failed");
    const [t] = await sql`select to_regclass(${`${schema}.half_done`}) as t`;
    expect(t!.t).toBeNull();
  } finally {
    await sql.end();
  }
});
