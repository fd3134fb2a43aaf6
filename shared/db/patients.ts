// Patient rows in SQL for the merge rule in patient-merge.ts: creating patients, reading
// them under a row lock, writing merged states back, and recording conflicts. Column
// lists and types are derived from MERGED_FIELDS and the field table.
import type { Row, TransactionSql } from "postgres";
import { patientField, selectColumn } from "../patient-fields.ts";
import { textColumn } from "./arrays.ts";
import {
  type IdentityField,
  MERGED_FIELDS,
  type MergedField,
  type PatientState,
  type PatientValues,
} from "./patient-merge.ts";

const columnOf = (field: MergedField) => patientField(field).column;
const pgType = (field: MergedField) => patientField(field).type;
const MERGED_COLUMNS = MERGED_FIELDS.map(columnOf).join(", ");
const READ_COLUMNS = [
  "id",
  "email",
  "events_count",
  "answers",
  "source",
  "form_id",
  "last_event_id",
  "submitted_at",
  ...MERGED_FIELDS.map((f) => selectColumn(patientField(f))),
].join(", ");

/** A patient read under `for update`: nobody else changes it until this transaction ends. */
export interface LockedPatient {
  id: string;
  email: string | null;
  eventsCount: number;
  state: PatientState;
}

function lockedPatient(r: Row): LockedPatient {
  const values = {} as Record<MergedField, unknown>;
  for (const f of MERGED_FIELDS) values[f] = r[columnOf(f)];
  return {
    id: String(r.id),
    email: r.email,
    eventsCount: r.events_count,
    state: {
      values: values as PatientValues,
      answers: r.answers,
      source: r.source,
      formId: r.form_id,
      lastEventId: r.last_event_id,
      submittedAt: r.submitted_at,
    },
  };
}

/** The merged fields of `rows` as unnest arguments, each preceded by a comma. */
function mergedArguments<T>(tx: TransactionSql, rows: readonly T[], state: (row: T) => PatientState) {
  return MERGED_FIELDS.map((f) => tx`, ${textColumn(tx, rows, (r) => state(r).values[f])}::${tx.unsafe(pgType(f))}[]`);
}

/** Locks the patients with these emails, in email order (concurrent batches lock in the same order). */
export async function lockPatientsByEmail(tx: TransactionSql, emails: readonly string[]): Promise<LockedPatient[]> {
  if (emails.length === 0) return [];
  const rows = await tx`
    select ${tx.unsafe(READ_COLUMNS)} from patients
    where email = any(${textColumn(tx, emails, (e) => e)}::text[])
    order by email
    for update`;
  return rows.map(lockedPatient);
}

export async function lockPatient(tx: TransactionSql, id: string): Promise<LockedPatient | null> {
  const [row] = await tx`select ${tx.unsafe(READ_COLUMNS)} from patients where id = ${id}::bigint for update`;
  return row ? lockedPatient(row) : null;
}

export interface NewPatient {
  email: string | null;
  /** The first submission: its values, and its event id as first and last event. */
  state: PatientState;
}

/**
 * Creates a patient from each row's first submission, in the order given. With
 * `skipExisting`, an email that already has a patient (or gets one from a concurrent
 * transaction, which this waits for) is skipped and absent from the result.
 */
export async function insertPatients(tx: TransactionSql, rows: readonly NewPatient[], skipExisting: boolean) {
  if (rows.length === 0) return [];
  return tx<{ id: string; email: string | null; first_event_id: string }[]>`
    insert into patients (email, answers, source, form_id, first_event_id, last_event_id, submitted_at,
      ${tx.unsafe(MERGED_COLUMNS)})
    select * from unnest(
      ${textColumn(tx, rows, (r) => r.email)}::text[],
      ${textColumn(tx, rows, (r) => JSON.stringify(r.state.answers))}::jsonb[],
      ${textColumn(tx, rows, (r) => r.state.source)}::text[], ${textColumn(tx, rows, (r) => r.state.formId)}::text[],
      ${textColumn(tx, rows, (r) => r.state.lastEventId)}::text[],
      ${textColumn(tx, rows, (r) => r.state.lastEventId)}::text[],
      ${textColumn(tx, rows, (r) => r.state.submittedAt)}::timestamptz[]
      ${mergedArguments(tx, rows, (r) => r.state)})
    ${skipExisting ? tx`on conflict (email) do nothing` : tx``}
    returning id, email, first_event_id`;
}

/** Writes locked patients back with their new state and count. */
export async function writePatients(tx: TransactionSql, patients: readonly LockedPatient[]): Promise<void> {
  if (patients.length === 0) return;
  const assignments = [
    "answers",
    "source",
    "form_id",
    "last_event_id",
    "submitted_at",
    "events_count",
    ...MERGED_FIELDS.map(columnOf),
  ]
    .map((c) => `${c} = u.${c}`)
    .join(", ");
  await tx`
    update patients p set ${tx.unsafe(assignments)}, updated_at = now()
    from unnest(
      ${textColumn(tx, patients, (p) => p.id)}::bigint[],
      ${textColumn(tx, patients, (p) => JSON.stringify(p.state.answers))}::jsonb[],
      ${textColumn(tx, patients, (p) => p.state.source)}::text[],
      ${textColumn(tx, patients, (p) => p.state.formId)}::text[],
      ${textColumn(tx, patients, (p) => p.state.lastEventId)}::text[],
      ${textColumn(tx, patients, (p) => p.state.submittedAt)}::timestamptz[],
      ${textColumn(tx, patients, (p) => p.eventsCount)}::int[]
      ${mergedArguments(tx, patients, (p) => p.state)}
    ) as u(id, answers, source, form_id, last_event_id, submitted_at, events_count, ${tx.unsafe(MERGED_COLUMNS)})
    where p.id = u.id`;
}

export interface NewConflict {
  patientId: string;
  /** The identity fields that differ. */
  fields: IdentityField[];
  /** The submission, as a PatientState of its own (lastEventId is its event id). */
  submission: PatientState;
}

/** What patient_conflicts.submission holds: the submission's canonical values, answers, source and form. */
export interface StoredSubmission extends PatientValues {
  source: string;
  formId: string | null;
  answers: Record<string, unknown>;
}

export async function insertConflicts(tx: TransactionSql, conflicts: readonly NewConflict[]): Promise<void> {
  if (conflicts.length === 0) return;
  const stored = (c: NewConflict): StoredSubmission => ({
    ...c.submission.values,
    source: c.submission.source,
    formId: c.submission.formId,
    answers: c.submission.answers,
  });
  await tx`
    insert into patient_conflicts (patient_id, event_id, fields, submission, submitted_at)
    select patient_id, event_id, fields::text[], submission, submitted_at from unnest(
      ${textColumn(tx, conflicts, (c) => c.patientId)}::bigint[],
      ${textColumn(tx, conflicts, (c) => c.submission.lastEventId)}::text[],
      ${textColumn(tx, conflicts, (c) => `{${c.fields.join(",")}}`)}::text[] /* each an array literal */,
      ${textColumn(tx, conflicts, (c) => JSON.stringify(stored(c)))}::jsonb[],
      ${textColumn(tx, conflicts, (c) => c.submission.submittedAt)}::timestamptz[]
    ) as u(patient_id, event_id, fields, submission, submitted_at)
    on conflict (event_id) do nothing`;
}

/** A stored conflict's submission back as the PatientState it was. */
export function submissionState(row: {
  event_id: string;
  submitted_at: Date;
  submission: StoredSubmission;
}): PatientState {
  const values = {} as Record<MergedField, unknown>;
  for (const f of MERGED_FIELDS) values[f] = row.submission[f] ?? null;
  return {
    values: values as PatientValues,
    answers: row.submission.answers ?? {},
    source: row.submission.source,
    formId: row.submission.formId,
    lastEventId: row.event_id,
    submittedAt: row.submitted_at,
  };
}
