// The field table (shared/patient-fields.ts) and the migrated `patients` table agree: every
// canonical field has its column with its type, and every other column is bookkeeping the
// table knows about (a migration that adds a field column without a table entry fails here).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Sql } from "../../shared/db/client.ts";
import { PATIENT_FIELDS, type PatientFieldSpec } from "../../shared/patient-fields.ts";
import { freshDatabase } from "./harness.ts";

const BOOKKEEPING = [
  "id",
  "source",
  "form_id",
  "answers",
  "answers_enc",
  // The encrypted fields sealed together (migration 018).
  "fields_enc",
  "first_event_id",
  "last_event_id",
  "events_count",
  "submitted_at",
  "created_at",
  "updated_at",
  // The patient's client (migration 011), its name-sort key and the fields edited by hand (012).
  "client_id",
  "sort_name",
  "manual_edits",
];
const PG_TYPE = { text: "text", date: "date", boolean: "boolean" } as const;

let sql: Sql;
beforeAll(async () => {
  sql = await freshDatabase();
});
afterAll(() => sql?.end());

test("every canonical field has its column in patients, with its type", async () => {
  const rows = await sql<{ column_name: string; data_type: string }[]>`
    select column_name, data_type from information_schema.columns
    where table_schema = current_schema() and table_name = 'patients'`;
  const columns = new Map(rows.map((r) => [r.column_name, r.data_type]));
  for (const f of PATIENT_FIELDS) expect([f.name, columns.get(f.column)]).toEqual([f.name, PG_TYPE[f.type]]);
  // Encrypted fields are sealed together in fields_enc; their own <column>_enc (before 018) and
  // plain column (before encryption) are for older rows. Email and phone also have their blind
  // index in <column>_bidx.
  for (const f of PATIENT_FIELDS as readonly PatientFieldSpec[]) {
    expect([f.name, columns.get(`${f.column}_enc`)]).toEqual([f.name, f.encrypted ? "bytea" : undefined]);
    expect([f.name, columns.get(`${f.column}_bidx`)]).toEqual([f.name, f.blindIndex ? "bytea" : undefined]);
  }
  const known = new Set([
    ...BOOKKEEPING,
    ...(PATIENT_FIELDS as readonly PatientFieldSpec[]).flatMap((f) => [
      f.column,
      ...(f.encrypted ? [`${f.column}_enc`] : []),
      ...(f.blindIndex ? [`${f.column}_bidx`] : []),
    ]),
  ]);
  expect([...columns.keys()].filter((c) => !known.has(c))).toEqual([]);
});

test("the table's names are unique and its columns are snake_case", () => {
  expect(new Set(PATIENT_FIELDS.map((f) => f.name)).size).toBe(PATIENT_FIELDS.length);
  expect(new Set(PATIENT_FIELDS.map((f) => f.column)).size).toBe(PATIENT_FIELDS.length);
  for (const f of PATIENT_FIELDS) expect(f.column).toMatch(/^[a-z][a-z0-9_]*$/);
});
