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
export function textColumn<T>(rows: readonly T[], value: (row: T) => Cell): string {
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
 * One bytea column of `rows` as a `bytea[]` expression, like textColumn, sent as one bytea
 * value (every row's bytes one after another, in hex) with each row's start and length (-1:
 * NULL), which Postgres cuts apart. An array literal of hex elements cost the database more:
 * array_in reads a literal a character at a time through a branch on each, and the hex of
 * sealed bytes (random) mispredicts it at every character, about twice the time of the hex of
 * text (issue #10: most of the Postgres CPU that encryption added to the projector's writes).
 * Decoding one hex value has no such branch, and cutting it is a copy per row.
 */
export function byteaColumn<T>(sql: Sql | TransactionSql, rows: readonly T[], value: (row: T) => Uint8Array | null) {
  const parts: Uint8Array[] = [];
  let starts = "{";
  let lengths = "{";
  let at = 1; // substr counts from 1
  for (let i = 0; i < rows.length; i++) {
    const v = value(rows[i]!);
    if (i > 0) {
      starts += ",";
      lengths += ",";
    }
    if (!v) {
      starts += "0";
      lengths += "-1";
      continue;
    }
    parts.push(v);
    starts += at;
    lengths += v.length;
    at += v.length;
  }
  // A Buffer: postgres.js sends it in bytea's hex form (and would hex a string's bytes again).
  // ARRAY(select …): '{}' for no rows, read by `= any(…)` as an array (a bare select would be a
  // subquery there), and it keeps an index usable (any(coalesce(…)) did not).
  return sql`array(select case when c.len < 0 then null else substr(b.bytes, c.start, c.len) end
    from unnest(${`${starts}}`}::int[], ${`${lengths}}`}::int[]) with ordinality as c(start, len, n),
      (select ${Buffer.concat(parts)}::bytea as bytes) as b
    order by c.n)`;
}
