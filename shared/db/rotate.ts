// Moving sealed rows to the current keys, online: `hookline keys rotate` after a new data key
// (or, with --blind-index, a new blind-index key) was put first in the keyring, and the
// projector's start for rows an earlier version stored in clear or, before 018, with each
// encrypted field sealed alone (packed into one value here: sealed.ts, PackedColumn). The services keep running:
// they read with any key of the keyring and write with the current one.
//
// Each table is walked in key order (keyset pagination) in short transactions of `batchSize`
// rows: the rows still on an old key (or in clear) are locked FOR UPDATE SKIP LOCKED, so a row
// a projector or the dashboard holds is skipped rather than waited for (and never overwritten:
// whoever holds it rewrites it under the current keys anyway, or the next pass takes it), then
// re-sealed and written back. Passes repeat until no row is left; a rerun after an
// interruption just finds the rows that are left (resumable by construction).
import type { Row, Sql, TransactionSql } from "postgres";
import { indexWith } from "../crypto/blind-index.ts";
import { keyIdOf, open, seal } from "../crypto/envelope.ts";
import type { Keys } from "../crypto/keys.ts";
import type { Logger } from "../logger.ts";
import { byteaColumn, textColumn } from "./arrays.ts";
import { holdsUnpacked, openPacked, packedColumns, SEALED_TABLES, type SealedTable, sealPacked } from "./sealed.ts";

/** What a rotation moves: sealed values to the current data key, and/or blind indexes to the current index key. */
export interface RotationTarget {
  data: boolean;
  blindIndex: boolean;
}

/** The condition "this row needs rewriting" for `target`, as SQL with the current key ids bound. */
function pending(sql: Sql | TransactionSql, keys: Keys, table: SealedTable, target: RotationTarget) {
  const clauses = [];
  if (target.data)
    for (const c of table.columns) {
      clauses.push(
        sql`(${sql(c.column)} is not null and hookline_key_id(${sql(c.column)}) <> ${keys.data.current.id})`,
      );
      clauses.push(sql`${sql(c.legacy)} is not null`);
    }
  if (target.data && table.packed) {
    const { column, parts } = table.packed;
    clauses.push(sql`(${sql(column)} is not null and hookline_key_id(${sql(column)}) <> ${keys.data.current.id})`);
    // A row from before the packed column: its fields still in their own columns.
    for (const p of parts)
      clauses.push(sql`${sql(p.sealed.column)} is not null or ${sql(p.sealed.legacy)} is not null`);
  }
  if (target.blindIndex)
    for (const b of table.blindIndexes)
      clauses.push(
        sql`(${sql(b.column)} is not null and hookline_key_id(${sql(b.column)}) <> ${keys.blindIndex.current.id})`,
      );
  if (clauses.length === 0) return sql`false`;
  return clauses.reduce((all, c) => sql`${all} or ${c}`);
}

/** Rows of `table` still to rewrite for `target` (a count: a full scan, fine for a rotation). */
export async function countPending(sql: Sql, keys: Keys, table: SealedTable, target: RotationTarget) {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from ${sql(table.table)} where ${pending(sql, keys, table, target)}`;
  return row!.n;
}

/** The plaintext bytes of one sealed column of a locked row: opened, or its legacy text; null when none. */
function plaintextOf(keys: Keys, table: SealedTable, r: Row, i: number): Buffer | null {
  const c = table.columns[i]!;
  const sealed = r[c.column] as Buffer | null;
  if (sealed) return open(keys.data, c.purpose, sealed);
  const legacy = r[`legacy_${i}`] as string | null;
  return legacy === null ? null : Buffer.from(legacy, "utf8");
}

/** Whether a sealed value is under the current data key. */
const isCurrent = (keys: Keys, sealed: Buffer) => keyIdOf(sealed) === keys.data.current.id;

/** Re-seals the locked rows under the current keys and writes them back (older columns cleared: plaintext, and per-field before 018). */
async function rewrite(tx: TransactionSql, keys: Keys, table: SealedTable, rows: Row[]): Promise<void> {
  const plain = rows.map((r) => table.columns.map((_, i) => plaintextOf(keys, table, r, i)));
  const sealedAs = table.columns.map((c, i) =>
    rows.map((r, n) => {
      const current = r[c.column] as Buffer | null;
      const text = plain[n]![i] ?? null;
      if (text === null) return null;
      // Already under the current key: kept byte for byte.
      return current && isCurrent(keys, current) ? current : seal(keys.data, c.purpose, text);
    }),
  );
  const { packed } = table;
  const fields = packed ? rows.map((r) => openPacked(keys, packed, r)) : [];
  const packedAs = packed
    ? rows.map((r, n) => {
        const current = r[packed.column] as Buffer | null;
        // Kept byte for byte only when it holds every field (no value left in an own column).
        return current && isCurrent(keys, current) && !holdsUnpacked(packed, r)
          ? current
          : sealPacked(keys, packed, fields[n]!);
      })
    : [];
  const indexesAs = table.blindIndexes.map((b) =>
    fields.map((f) => {
      const value = f[b.part];
      return value ? indexWith(keys.blindIndex.current, b.field, String(value)) : null;
    }),
  );
  const set = [
    ...table.columns.flatMap((c) => [`${c.column} = u.${c.column}`, `${c.legacy} = null`]),
    ...(packed
      ? [
          `${packed.column} = u.${packed.column}`,
          ...packed.parts.flatMap((p) => [`${p.sealed.column} = null`, `${p.sealed.legacy} = null`]),
        ]
      : []),
    ...table.blindIndexes.map((b) => `${b.column} = u.${b.column}`),
  ].join(", ");
  const names = [
    ...table.key.map((k) => k.column),
    ...table.columns.map((c) => c.column),
    ...(packed ? [packed.column] : []),
    ...table.blindIndexes.map((b) => b.column),
  ].join(", ");
  const match = table.key.map((k) => `t.${k.column} = u.${k.column}`).join(" and ");
  const args = [
    ...table.key.map((k) => tx`${textColumn(rows, (r) => r[`key_${k.column}`])}::${tx.unsafe(k.type)}[]`),
    ...sealedAs.map((values) => tx`${byteaColumn(tx, values, (v) => v)}`),
    ...(packed ? [tx`${byteaColumn(tx, packedAs, (v) => v)}`] : []),
    ...indexesAs.map((values) => tx`${byteaColumn(tx, values, (v) => v)}`),
  ].reduce((all, a) => tx`${all}, ${a}`);
  await tx`
    update ${tx(table.table)} t set ${tx.unsafe(set)}
    from unnest(${args}) as u(${tx.unsafe(names)})
    where ${tx.unsafe(match)}`;
}

interface PassResult {
  rewritten: number;
}

/**
 * One pass over `table`: every row needing `target` that nobody holds is rewritten, `batchSize`
 * rows a transaction. `onBatch` gets the rows each transaction rewrote.
 */
async function rotatePass(
  sql: Sql,
  keys: Keys,
  table: SealedTable,
  target: RotationTarget,
  { batchSize = 500, onBatch }: { batchSize?: number; onBatch?: (rows: number) => void } = {},
): Promise<PassResult> {
  const keyList = table.key.map((k) => sql`${sql(k.column)}`).reduce((all, k) => sql`${all}, ${k}`);
  const selected = [
    ...table.key.map((k) => `${k.column}::text as key_${k.column}`),
    ...table.columns.flatMap((c, i) => [c.column, `${c.legacyText} as legacy_${i}`]),
    ...(table.packed ? packedColumns(table.packed) : []),
  ].join(", ");
  let after: Row | undefined;
  let rewritten = 0;
  for (;;) {
    const cursor = after
      ? sql`and (${keyList}) > (${table.key
          .map((k) => sql`${after![`key_${k.column}`]}::${sql.unsafe(k.type)}`)
          .reduce((all, v) => sql`${all}, ${v}`)})`
      : sql``;
    const n = await sql.begin(async (tx) => {
      const rows = await tx`
        select ${tx.unsafe(selected)} from ${tx(table.table)}
        where (${pending(tx, keys, table, target)}) ${cursor}
        order by ${keyList}
        limit ${batchSize}
        for update skip locked`;
      if (rows.length === 0) return 0;
      after = rows[rows.length - 1];
      await rewrite(tx, keys, table, [...rows]);
      return rows.length;
    });
    if (n === 0) return { rewritten };
    rewritten += n;
    onBatch?.(n);
  }
}

/**
 * Passes over `table` until no row needs `target` or `maxPasses` is reached (rows held by
 * writers are skipped and taken by the next pass). Returns the rows rewritten and those left.
 */
export async function rotateTable(
  sql: Sql,
  keys: Keys,
  table: SealedTable,
  target: RotationTarget,
  options: { batchSize?: number; onBatch?: (rows: number) => void; maxPasses?: number } = {},
): Promise<{ rewritten: number; left: number }> {
  let rewritten = 0;
  for (let pass = 1; ; pass++) {
    rewritten += (await rotatePass(sql, keys, table, target, options)).rewritten;
    const left = await countPending(sql, keys, table, target);
    if (left === 0 || pass >= (options.maxPasses ?? 20)) return { rewritten, left };
    await Bun.sleep(Math.min(100 * pass, 1000)); // let the holders of the skipped rows commit
  }
}

/**
 * Seals the rows an earlier version stored in clear (the tables migrations 009 and 010 found
 * rows in), and packs the patients whose encrypted fields an earlier version sealed one by one
 * (018), before the projector consumes: a patient whose email is still in clear would not be
 * found by its blind index. Several projectors doing this at once share the work.
 */
export async function sealBacklog(sql: Sql, keys: Keys, log: Logger): Promise<void> {
  const backlog = await sql<{ table_name: string }[]>`select table_name from encryption_backlog order by table_name`;
  for (const { table_name } of backlog) {
    const table = SEALED_TABLES.find((t) => t.table === table_name);
    if (!table) continue;
    log.info({ table: table_name }, "sealing rows an earlier version stored in clear or field by field");
    const { rewritten, left } = await rotateTable(sql, keys, table, { data: true, blindIndex: true });
    if (left > 0)
      throw Object.assign(
        new Error(
          `${left} row(s) of ${table_name} are still as an earlier version stored them; the next start continues`,
        ),
        {
          code: "seal_backlog_incomplete",
        },
      );
    await sql`delete from encryption_backlog where table_name = ${table_name}`;
    log.info({ table: table_name, rows: rewritten }, "rows sealed");
  }
}
