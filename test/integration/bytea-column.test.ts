// byteaColumn sends a column of bytes as one value with each row's start and length; Postgres
// must give back every row's bytes as they were, NULL as NULL, in row order, whatever the bytes.
import { afterAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { byteaColumn, textColumn } from "../../shared/db/arrays.ts";
import { DATABASE_URL } from "./harness.ts";

const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
afterAll(() => sql.end());

test("each row's bytes come back as sent, nulls and empty values included, in row order", async () => {
  const values: (Uint8Array | null)[] = [
    randomBytes(1300),
    null,
    new Uint8Array(0),
    Buffer.from('{"quote":"\\"","brace":"}"}'),
    null,
    randomBytes(1).subarray(0, 1),
    new Uint8Array(randomBytes(40)).subarray(3, 30), // a view into a larger buffer
  ];
  const rows = values.map((v, i) => ({ i, v }));
  const out = await sql<{ i: number; v: Buffer | null }[]>`
    select i, v from unnest(${textColumn(rows, (r) => r.i)}::int[], ${byteaColumn(sql, rows, (r) => r.v)}) as t(i, v)`;
  expect(out.map((r) => r.i)).toEqual(rows.map((r) => r.i));
  expect(out.map((r) => (r.v === null ? null : Buffer.from(r.v).toString("hex")))).toEqual(
    values.map((v) => (v === null ? null : Buffer.from(v).toString("hex"))),
  );
});

test("no rows: the empty array, not NULL (= any() over it is false)", async () => {
  const [r] = await sql<{ n: number; found: boolean }[]>`
    select cardinality(${byteaColumn(sql, [], () => null)}) as n, '\\x00'::bytea = any(${byteaColumn(sql, [] as Uint8Array[], (v) => v)}) as found`;
  expect(r).toEqual({ n: 0, found: false });
});

test("only NULLs", async () => {
  // Asked in SQL: postgres.js reads a NULL element of a bytea[] it receives as an empty Buffer.
  const [r] = await sql<{ n: number; nulls: number }[]>`
    select cardinality(a) as n, (select count(*) from unnest(a) v where v is null)::int as nulls
    from (select ${byteaColumn(sql, [1, 2], () => null)} as a) t`;
  expect(r).toEqual({ n: 2, nulls: 2 });
});

test("an index answers `column = any(byteaColumn)` (a blind-index lookup must not scan the table)", async () => {
  await sql.begin(async (tx) => {
    await tx`create temporary table bytea_lookup (k bytea, client_id bigint) on commit drop`;
    await tx`create index on bytea_lookup (k)`;
    // Under a row-level policy, as patients are (migration 011): any(coalesce(…)) lost the index there.
    await tx`alter table bytea_lookup enable row level security, force row level security`;
    await tx`create policy scope on bytea_lookup
      using ((select current_setting('hookline.test_scope', true)) is null or client_id = 1)`;
    await tx`set local enable_seqscan = off`;
    const plan = await tx<{ "QUERY PLAN": string }[]>`
      explain select k from bytea_lookup where k = any(${byteaColumn(tx, [randomBytes(32), randomBytes(32)], (v) => v)})`;
    expect(plan.map((r) => r["QUERY PLAN"]).join("\n")).toMatch(/Index (Only )?Scan/);
  });
});
