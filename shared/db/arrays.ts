// Many rows in one statement with a fixed number of parameters.
import type { Sql, TransactionSql } from "postgres";

export type Cell = string | number | boolean | Date | null | undefined;

const asText = (v: Cell): string | null =>
  v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v);

/**
 * One column of `rows` as a single `text[]` parameter. A VALUES list binds one parameter a
 * cell, and postgres.js refuses more than 65,534 (under 3,500 patient rows); with one array
 * a column, `insert … select * from unnest($1::text[], $2::timestamptz[], …)` binds as many
 * for 10,000 rows as for one. Postgres parses each element with the cast written next to
 * the parameter, and unnest yields rows in array order, so rows are written in the order given.
 */
export function textColumn<T>(_sql: Pick<Sql, "array">, rows: readonly T[], value: (row: T) => Cell): string {
  // The array literal is written here, as byteaColumn's is: postgres.js's serializer ran two
  // regex replacements over every cell (with its Bind, 5% of the projector's CPU, issue #13
  // item 4); most cells need no escaping, which one test finds. The parameter goes untyped, so
  // Postgres reads it with the cast written next to it.
  let literal = "{";
  for (let i = 0; i < rows.length; i++) {
    if (i > 0) literal += ",";
    const text = asText(value(rows[i]!));
    literal += text === null ? "NULL" : `"${NEEDS_ESCAPE.test(text) ? text.replace(ESCAPED, "\\$&") : text}"`;
  }
  return `${literal}}`;
}

/** A quote or backslash: the two characters a quoted array element escapes. */
const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/**
 * One bytea column of `rows` as a `bytea[]` expression with a single parameter, like
 * textColumn. The array literal is written here (each value in bytea's hex form, its one
 * backslash escaped): postgres.js would run two regex passes over every sealed value.
 */
export function byteaColumn<T>(sql: Sql | TransactionSql, rows: readonly T[], value: (row: T) => Uint8Array | null) {
  const literal = `{${rows
    .map((r) => {
      const v = value(r);
      if (!v) return "NULL";
      return `"\\\\x${(Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)).toString("hex")}"`;
    })
    .join(",")}}`;
  return sql`${literal}::bytea[]`;
}
