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

test("raw events stay in line up to a page: every month's partition, existing or new, has toast_tuple_target 8160 (016)", async () => {
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {}, connection: { search_path: schema } });
  try {
    await migrate(sql);
    await sql`select hookline_ensure_month_partition('2031-05-17T00:00:00Z')`;
    const parts = await sql<{ name: string; options: string[] | null }[]>`
      select c.relname as name, c.reloptions as options from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = ${`${schema}.webhook_events`}::regclass order by 1`;
    expect(parts.map((p) => p.name)).toContain("webhook_events_2031_05");
    for (const p of parts)
      expect({ name: p.name, options: p.options }).toEqual({ name: p.name, options: ["toast_tuple_target=8160"] });
  } finally {
    await sql.end();
  }
});

test("023 and 024 move each event's canonical form onto its guard row; what an older version writes or deletes follows it", async () => {
  const own = `migrate_023_${process.pid}`;
  await admin.unsafe(`create schema ${own}`);
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {}, connection: { search_path: own } });
  try {
    const all = readMigrations();
    await migrate(
      sql,
      all.filter((m) => m.version < 23),
    );
    const at = new Date("2026-03-04T05:06:07Z");
    const other = new Date("2026-03-05T00:00:00Z");
    await sql`select hookline_ensure_month_partition(${at})`;
    const bytes = (s: string) => Buffer.from(s);
    // e-no-guard has no guard row (a restore might leave that); e-other-time's names another time.
    await sql`insert into webhook_event_ids (event_id, received_at)
      values ('e-sealed', ${at}), ('e-clear', ${at}), ('e-erased', ${at}), ('e-other-time', ${other})`;
    await sql`insert into webhook_events (event_id, received_at, source, canonical_enc, canonical)
      values ('e-sealed', ${at}, 'generic', ${bytes("sealed form")}, null),
        ('e-clear', ${at}, 'generic', null, '{"patient":{}}'),
        ('e-no-guard', ${at}, 'generic', ${bytes("unguarded form")}, null),
        ('e-other-time', ${at}, 'generic', ${bytes("kept form")}, null)`;

    expect(await migrate(sql)).toEqual(all.filter((m) => m.version >= 23).map((m) => m.version));

    const guards = async () =>
      (await sql`select event_id, canonical_enc, canonical from webhook_event_ids order by event_id`).map((g) => ({
        event_id: g.event_id,
        canonical_enc: g.canonical_enc?.toString() ?? null,
        canonical: g.canonical,
      }));
    expect(await guards()).toEqual([
      { event_id: "e-clear", canonical_enc: null, canonical: { patient: {} } },
      { event_id: "e-erased", canonical_enc: null, canonical: null },
      { event_id: "e-no-guard", canonical_enc: "unguarded form", canonical: null },
      { event_id: "e-other-time", canonical_enc: null, canonical: null },
      { event_id: "e-sealed", canonical_enc: "sealed form", canonical: null },
    ]);
    // Emptied where moved; the one whose guard row names another time keeps its own.
    const left =
      await sql`select event_id from webhook_events where canonical_enc is not null or canonical is not null`;
    expect(left.map((r) => r.event_id)).toEqual(["e-other-time"]);
    // The row in clear is sealed by the projector's next start (sealBacklog).
    expect(await sql`select table_name from encryption_backlog where table_name = 'webhook_event_ids'`).toHaveLength(1);

    // The version before, during a rolling upgrade: a projector inserts the guard row, then the
    // raw event with its form; `reproject` updates the form on the raw event.
    await sql.begin(async (tx) => {
      await tx`insert into webhook_event_ids (event_id, received_at) values ('e-old-pod', ${at})`;
      await tx`insert into webhook_events (event_id, received_at, source, canonical_enc)
        values ('e-old-pod', ${at}, 'generic', ${bytes("from an old pod")})`;
    });
    await sql`update webhook_events set canonical_enc = ${bytes("reprojected by an old pod")} where event_id = 'e-sealed'`;
    const forms = await sql`
      select event_id, ids.canonical_enc as guard, we.canonical_enc as raw
      from webhook_event_ids ids join webhook_events we using (event_id)
      where event_id in ('e-old-pod', 'e-sealed') order by event_id`;
    expect(forms.map((f) => ({ id: f.event_id, guard: f.guard?.toString(), raw: f.raw }))).toEqual([
      { id: "e-old-pod", guard: "from an old pod", raw: null },
      { id: "e-sealed", guard: "reprojected by an old pod", raw: null },
    ]);
    // A raw event deleted (an erasure of either version) takes its form off the guard row it leaves.
    await sql`delete from webhook_events where event_id in ('e-sealed', 'e-clear')`;
    const after = (await guards()).filter((g) => ["e-sealed", "e-clear"].includes(g.event_id));
    expect(after).toEqual([
      { event_id: "e-clear", canonical_enc: null, canonical: null },
      { event_id: "e-sealed", canonical_enc: null, canonical: null },
    ]);
  } finally {
    await sql.end();
    await admin.unsafe(`drop schema if exists ${own} cascade`);
  }
});
