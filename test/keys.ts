// The keys a test process seals with (generated per process, as ./ops/up generates dev keys),
// their environment for the services it starts, and reading sealed rows back in clear.
import type { Sql } from "postgres";
import { blindIndex } from "../shared/crypto/blind-index.ts";
import { newKeyText, parseKeyring } from "../shared/crypto/keyring.ts";
import type { Keys } from "../shared/crypto/keys.ts";
import { openCell, openPacked, PATIENTS, type SealedTable } from "../shared/db/sealed.ts";

const DATA_KEY = newKeyText("test-data-1");
const INDEX_KEY = newKeyText("test-index-1");

export const TEST_KEYS: Keys = {
  data: parseKeyring(DATA_KEY, "test data key"),
  blindIndex: parseKeyring(INDEX_KEY, "test index key"),
};

/** HOOKLINE_KEYS and HOOKLINE_BLIND_INDEX_KEY for TEST_KEYS (or other keyrings' text forms). */
export function keyEnv(data = DATA_KEY, blindIndex = INDEX_KEY): Record<string, string> {
  return { HOOKLINE_KEYS: data, HOOKLINE_BLIND_INDEX_KEY: blindIndex };
}

/**
 * Every row of a sealed table with its sealed columns opened into the plaintext columns they
 * replaced (`email`, `answers`, `body`, ...), as a test reads them; dates as yyyy-mm-dd.
 */
export async function openRows(
  sql: Sql,
  table: SealedTable,
  where = sql`true`,
  keys: Keys = TEST_KEYS,
): Promise<Record<string, any>[]> {
  const rows = await sql`select * from ${sql(table.table)} where ${where} order by ${sql(table.key[0]!.column)}`;
  return rows.map((r) => {
    const out: Record<string, any> = { ...r };
    const dated = (v: unknown) => (v instanceof Date ? v.toISOString().slice(0, 10) : v);
    for (const c of table.columns) out[c.legacy] = openCell(keys, c, r[c.column], dated(r[c.legacy]));
    if (table.packed) {
      const legacy = Object.fromEntries(table.packed.parts.map((p) => [p.sealed.legacy, dated(r[p.sealed.legacy])]));
      const fields = openPacked(keys, table.packed, { ...r, ...legacy });
      for (const p of table.packed.parts) out[p.sealed.legacy] = fields[p.name];
    }
    return out;
  });
}

/** The patient with this email (found by its blind index, as the projector finds it), opened; undefined when none. */
export async function patientByEmail(sql: Sql, email: string, keys: Keys = TEST_KEYS) {
  const [row] = await openRows(sql, PATIENTS, sql`email_bidx = ${blindIndex(keys.blindIndex, "email", email)}`, keys);
  return row;
}
