// A patient's API shape: canonical field names at the top level, the columns it is read from,
// and one patient by id. Encrypted fields and answers are opened here (shared/db/sealed.ts).
// Listing and search: patient-list.ts; the detail with its timeline: patient-detail.ts.
import type { Row, Sql, TransactionSql } from "postgres";
import type { Keys } from "../../shared/crypto/keys.ts";
import {
  openCell,
  openPacked,
  PACKED_PATIENT_FIELDS,
  PATIENTS,
  packedColumns,
  sealedColumn,
} from "../../shared/db/sealed.ts";
import { PATIENT_FIELDS, type PatientValues, selectColumn } from "../../shared/patient-fields.ts";

/**
 * A patient in API responses: the canonical fields (shared/patient-fields.ts) at the top level,
 * then the record's bookkeeping.
 */
export type PatientDto = { id: string } & PatientValues & {
    source: string;
    formId: string | null;
    eventId: string;
    submittedAt: string;
    eventsCount: number;
    answers: Record<string, unknown>;
    /** Submissions held back because they contradict this patient's identity (GET …/conflicts). */
    openConflicts: number;
    createdAt: string;
    updatedAt: string;
  };

/**
 * A patient as a listing or search shows it: everything but the answers, which only the detail
 * (patient-detail.ts) opens. A page of 50 rows opened and sent each patient's whole form
 * answers, which the table never shows: a sixth of a name search's CPU in the dashboard, and
 * patient data sent that nobody asked to see.
 */
export type PatientSummary = Omit<PatientDto, "answers">;

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

const ANSWERS = sealedColumn(PATIENTS, "answers_enc");

/** A row read with SUMMARY_VALUES (or ROW_VALUES), opened without its answers. */
export function toPatientSummary(keys: Keys, r: Row): PatientSummary {
  // The encrypted fields in one seal; a row written before 018 or 009 is read from its older columns.
  const sealed = openPacked(keys, PACKED_PATIENT_FIELDS, r);
  // Filled in place, in the API's key order (a page opens 50 of these: no copies).
  const patient: Record<string, unknown> = { id: String(r.id) };
  for (const f of PATIENT_FIELDS) patient[f.name] = f.encrypted ? sealed[f.name] : r[f.column];
  patient.source = r.source;
  patient.formId = r.form_id;
  patient.eventId = r.last_event_id;
  patient.submittedAt = iso(r.submitted_at);
  patient.eventsCount = r.events_count;
  patient.openConflicts = r.open_conflicts;
  patient.createdAt = iso(r.created_at);
  patient.updatedAt = iso(r.updated_at);
  return patient as PatientSummary;
}

/** A row read with ROW_VALUES, opened whole. */
export function toPatientDto(keys: Keys, r: Row): PatientDto {
  return {
    ...toPatientSummary(keys, r),
    answers: (openCell(keys, ANSWERS, r[ANSWERS.column], r[ANSWERS.legacy]) ?? {}) as Record<string, unknown>,
  };
}

const FIELD_COLUMNS = [
  ...packedColumns(PACKED_PATIENT_FIELDS),
  ...PATIENT_FIELDS.filter((f) => !f.encrypted).map((f) => selectColumn(f)),
];
/** A patient's open conflicts (not part of its row: a conflict does not change the row's version). */
const OPEN_CONFLICTS = `(select count(*)::int from patient_conflicts c
    where c.patient_id = patients.id and c.status = 'open') as open_conflicts`;
/** The row as toPatientSummary opens it, but its id and open conflicts. */
export const SUMMARY_VALUES = `${FIELD_COLUMNS.join(", ")}, source, form_id, last_event_id, submitted_at, events_count,
  created_at, updated_at`;
/** The row as toPatientDto opens it, but its id and open conflicts. */
const ROW_VALUES = `${SUMMARY_VALUES}, ${ANSWERS.column}, ${ANSWERS.legacy}`;
const ROW_COLUMNS = `id, ${ROW_VALUES}`;
export const COLUMNS = `${ROW_COLUMNS}, ${OPEN_CONFLICTS}`;
/**
 * What a listing reads first (row-cache.ts): the id, the row's version (xmin: a new one with
 * every update) and the open conflicts.
 */
export const VERSION_COLUMNS = `id, patients.xmin::text as row_version, ${OPEN_CONFLICTS}`;

export async function getPatient(sql: Sql | TransactionSql, keys: Keys, id: string): Promise<PatientDto | null> {
  const rows = await sql`select ${sql.unsafe(COLUMNS)} from patients where id = ${id}::bigint`;
  return rows[0] ? toPatientDto(keys, rows[0]) : null;
}
