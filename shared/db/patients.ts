// Patient rows in SQL for the merge rule in patient-merge.ts: creating patients, reading
// them under a row lock, writing merged states back, and recording conflicts. Column
// lists and types are derived from MERGED_FIELDS and the field table. Encrypted fields,
// answers and conflict submissions are sealed here on the way in and opened on the way out
// (sealed.ts); the patient's key is its email's blind index.
import type { Row, Sql, TransactionSql } from "postgres";
import { lookupIndexes } from "../crypto/blind-index.ts";
import type { Keys } from "../crypto/keys.ts";
import { patientField, selectColumn } from "../patient-fields.ts";
import { byteaColumn, type Cell, textColumn } from "./arrays.ts";
import {
  type IdentityField,
  MERGED_FIELDS,
  type MergedField,
  type PatientState,
  type PatientValues,
} from "./patient-merge.ts";
import {
  type BlindIndexColumn,
  indexCell,
  openCell,
  openPacked,
  PACKED_PATIENT_FIELDS,
  PATIENT_CONFLICTS,
  PATIENTS,
  packedColumns,
  type SealedColumn,
  sealCell,
  sealedColumn,
  sealPacked,
} from "./sealed.ts";

const ANSWERS = sealedColumn(PATIENTS, "answers_enc");
const SUBMISSION = sealedColumn(PATIENT_CONFLICTS, "submission_enc");
const indexOf = (part: string) => PATIENTS.blindIndexes.find((i) => i.part === part);
const EMAIL_INDEX = indexOf("email")!;

/** How each merged field is stored: in clear in its column, or packed with the other encrypted fields (and maybe blind-indexed). */
const FIELDS = MERGED_FIELDS.map((name) => {
  const spec = patientField(name);
  return { name, spec, index: spec.encrypted ? indexOf(name) : undefined };
});

const READ_COLUMNS = [
  "id",
  "client_id",
  "events_count",
  ANSWERS.column,
  ANSWERS.legacy,
  "source",
  "form_id",
  "last_event_id",
  "submitted_at",
  // Manual edits (012): the merge keeps an edited field against older submissions.
  "manual_edits",
  // The encrypted fields (email among them), as rows before 018 and 009 hold them too.
  ...packedColumns(PACKED_PATIENT_FIELDS),
  ...FIELDS.filter((f) => !f.spec.encrypted).map((f) => selectColumn(f.spec)),
].join(", ");

/** A patient read under `for update`: nobody else changes it until this transaction ends. */
export interface LockedPatient {
  id: string;
  /** Its client (migration 011): patients are deduplicated within a client. Null: unassigned. */
  clientId?: string | null;
  email: string | null;
  eventsCount: number;
  state: PatientState;
}

function lockedPatient(keys: Keys, r: Row): LockedPatient {
  const sealed = openPacked(keys, PACKED_PATIENT_FIELDS, r);
  const values = {} as Record<MergedField, unknown>;
  for (const f of FIELDS) values[f.name] = f.spec.encrypted ? sealed[f.name] : r[f.spec.column];
  return {
    id: String(r.id),
    clientId: r.client_id == null ? null : String(r.client_id),
    email: (sealed.email ?? null) as string | null,
    eventsCount: r.events_count,
    state: {
      values: values as PatientValues,
      answers: (openCell(keys, ANSWERS, r[ANSWERS.column], r[ANSWERS.legacy]) ?? {}) as Record<string, unknown>,
      source: r.source,
      formId: r.form_id,
      lastEventId: r.last_event_id,
      submittedAt: r.submitted_at,
      manualEdits: r.manual_edits ?? {},
    },
  };
}

/** A column written for a patient: its name, its SQL type and its value, from the patient's email and state. */
interface WriteColumn {
  name: string;
  type: string;
  value: (p: { email: string | null; state: PatientState }, keys: Keys) => Cell | Buffer;
}

const sealedValue = (col: SealedColumn, value: (p: { email: string | null; state: PatientState }) => unknown) =>
  ({ name: col.column, type: "bytea", value: (p, keys) => sealCell(keys, col, value(p)) }) satisfies WriteColumn;
const indexValue = (index: BlindIndexColumn, value: (p: { email: string | null; state: PatientState }) => unknown) =>
  ({
    name: index.column,
    type: "bytea",
    value: (p, keys) => indexCell(keys, index, value(p) as string | null),
  }) satisfies WriteColumn;

/** The encrypted fields of a patient, by name (email among them), as sealPacked takes them. */
const packedValues = (p: { email: string | null; state: PatientState }): Record<string, unknown> => ({
  ...p.state.values,
  email: p.email,
});

/** What every write of a patient sets (but its first event and count): the same for inserts and updates. */
const STATE_COLUMNS: WriteColumn[] = [
  {
    name: PACKED_PATIENT_FIELDS.column,
    type: "bytea",
    value: (p, keys) => sealPacked(keys, PACKED_PATIENT_FIELDS, packedValues(p)),
  },
  indexValue(EMAIL_INDEX, (p) => p.email),
  sealedValue(ANSWERS, (p) => p.state.answers),
  { name: "source", type: "text", value: (p) => p.state.source },
  { name: "form_id", type: "text", value: (p) => p.state.formId },
  { name: "last_event_id", type: "text", value: (p) => p.state.lastEventId },
  { name: "submitted_at", type: "timestamptz", value: (p) => p.state.submittedAt },
  ...FIELDS.flatMap((f): WriteColumn[] =>
    f.spec.encrypted
      ? f.index
        ? [indexValue(f.index, (p) => p.state.values[f.name])]
        : []
      : [{ name: f.spec.column, type: f.spec.type, value: (p) => p.state.values[f.name] as Cell }],
  ),
];

/** The columns of `rows` as unnest arguments, each preceded by a comma. */
function unnestArguments<T extends { email: string | null; state: PatientState }>(
  tx: TransactionSql,
  keys: Keys,
  columns: readonly WriteColumn[],
  rows: readonly T[],
) {
  return columns.map((c) =>
    c.type === "bytea"
      ? tx`, ${byteaColumn(tx, rows, (r) => c.value(r, keys) as Buffer | null)}`
      : tx`, ${textColumn(rows, (r) => c.value(r, keys) as Cell)}::${tx.unsafe(c.type)}[]`,
  );
}

/** The columns of rows written before 018 (each field sealed alone) and 009 (in clear): every write clears them. */
const LEGACY_CLEARED = [
  ANSWERS.legacy,
  ...PACKED_PATIENT_FIELDS.parts.flatMap((p) => [p.sealed.column, p.sealed.legacy]),
]
  .map((c) => `${c} = null`)
  .join(", ");

/**
 * Locks the patients with these emails at these clients (found by their blind index under every
 * index key, so rows not yet rebuilt under a new one are found too), in index order (concurrent
 * batches lock in the same order). A null client is the unassigned patients'.
 */
export async function lockPatientsByEmail(
  tx: TransactionSql,
  keys: Keys,
  lookups: readonly { email: string; clientId: string | null }[],
): Promise<LockedPatient[]> {
  if (lookups.length === 0) return [];
  const pairs = lookups.flatMap((l) =>
    lookupIndexes(keys.blindIndex, "email", l.email).map((index) => ({ index, clientId: l.clientId })),
  );
  const rows = await tx`
    select ${tx.unsafe(READ_COLUMNS)} from patients
    join unnest(${byteaColumn(tx, pairs, (p) => p.index)}, ${textColumn(pairs, (p) => p.clientId)}::bigint[])
      as u(bidx, client) on ${tx.unsafe(EMAIL_INDEX.column)} = u.bidx and coalesce(client_id, 0) = coalesce(u.client, 0)
    order by ${tx.unsafe(EMAIL_INDEX.column)}
    for update of patients`;
  return rows.map((r) => lockedPatient(keys, r));
}

/**
 * The client of each of these sources (migration 011; the one a new row is stamped with), by
 * name; of every source that has one when `sources` is not given. A source absent from the map
 * has no client (the sources file's): its patients are the unassigned ones.
 */
export async function clientsOfSources(
  tx: Sql | TransactionSql,
  sources?: readonly string[],
): Promise<Map<string, string>> {
  if (sources?.length === 0) return new Map();
  const rows = await tx<{ name: string; client_id: string }[]>`
    select name, client_id::text from sources
    ${sources ? tx`where name = any(${textColumn(sources, (s) => s)}::text[])` : tx``}`;
  return new Map(rows.map((r) => [r.name, r.client_id]));
}

/**
 * Tells the client-stamping triggers (migration 020) that this transaction names every row's
 * client itself, null for a source that has none, so they skip the lookup they would repeat.
 * Only for a writer that read its sources' clients (clientsOfSources) in the same transaction.
 */
export function declareClientsNamed(tx: TransactionSql) {
  return tx`select set_config('hookline.clients_named', 'on', true)`;
}

export async function lockPatient(tx: TransactionSql, keys: Keys, id: string): Promise<LockedPatient | null> {
  const [row] = await tx`select ${tx.unsafe(READ_COLUMNS)} from patients where id = ${id}::bigint for update`;
  return row ? lockedPatient(keys, row) : null;
}

export interface NewPatient {
  email: string | null;
  /** The first submission: its values, and its event id as first and last event. */
  state: PatientState;
  /**
   * Its source's client, when the caller knows it (the projector reads them once a batch);
   * otherwise the insert trigger stamps the source's client (migrations 011, 016).
   */
  clientId?: string | null;
}

/**
 * Creates a patient from each row's first submission, in the order given. With
 * `skipExisting`, an email that already has a patient (or gets one from a concurrent
 * transaction, which this waits for) is skipped and absent from the result; so is one whose
 * patient is still indexed under a previous blind-index key (a rebuild in progress).
 */
export async function insertPatients(
  tx: TransactionSql,
  keys: Keys,
  rows: readonly NewPatient[],
  skipExisting: boolean,
): Promise<{ id: string; email: string | null; first_event_id: string }[]> {
  if (rows.length === 0) return [];
  const columns = STATE_COLUMNS.map((c) => c.name).join(", ");
  // The email's index under each previous key, one unnest column a key.
  const previous = skipExisting ? keys.blindIndex.keys.slice(1) : [];
  const previousArgs = previous.map(
    (_, i) =>
      tx`, ${byteaColumn(tx, rows, (r) => (r.email ? (lookupIndexes(keys.blindIndex, "email", r.email)[i + 1] ?? null) : null))}`,
  );
  const previousNames = previous.map((_, i) => `, prev_${i}`).join("");
  const notIndexedBefore = previous.length
    ? tx`where not exists (select 1 from patients p where p.${tx.unsafe(EMAIL_INDEX.column)} in (${tx.unsafe(previous.map((_, i) => `u.prev_${i}`).join(", "))})
        and coalesce(p.client_id, 0) = coalesce(u.client_id, (select s.client_id from sources s where s.name = u.source), 0))`
    : tx``;
  const inserted = await tx<{ id: string; first_event_id: string }[]>`
    insert into patients (first_event_id, client_id, ${tx.unsafe(columns)})
    select first_event_id, client_id, ${tx.unsafe(columns)} from unnest(
      ${textColumn(rows, (r) => r.state.lastEventId)}::text[],
      ${textColumn(rows, (r) => r.clientId)}::bigint[]
      ${unnestArguments(tx, keys, STATE_COLUMNS, rows)}
      ${previousArgs.length ? previousArgs : tx``}
    ) as u(first_event_id, client_id, ${tx.unsafe(columns)}${tx.unsafe(previousNames)})
    ${notIndexedBefore}
    ${
      // The key is (client, email index) (migration 011); a client not named is stamped by a trigger.
      skipExisting ? tx`on conflict do nothing` : tx``
    }
    returning id, first_event_id`;
  const emailByEvent = new Map(rows.map((r) => [r.state.lastEventId, r.email]));
  return inserted.map((r) => ({ ...r, email: emailByEvent.get(r.first_event_id) ?? null }));
}

/** Writes locked patients back with their new state and count (sealed under the current keys). */
export async function writePatients(tx: TransactionSql, keys: Keys, patients: readonly LockedPatient[]): Promise<void> {
  if (patients.length === 0) return;
  const names = STATE_COLUMNS.map((c) => c.name);
  const assignments = [...names, "events_count"].map((c) => `${c} = u.${c}`).join(", ");
  await tx`
    update patients p set ${tx.unsafe(assignments)}, ${tx.unsafe(LEGACY_CLEARED)}, updated_at = now()
    from unnest(
      ${textColumn(patients, (p) => p.id)}::bigint[],
      ${textColumn(patients, (p) => p.eventsCount)}::int[]
      ${unnestArguments(tx, keys, STATE_COLUMNS, patients)}
    ) as u(id, events_count, ${tx.unsafe(names.join(", "))})
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

export async function insertConflicts(
  tx: TransactionSql,
  keys: Keys,
  conflicts: readonly NewConflict[],
): Promise<void> {
  if (conflicts.length === 0) return;
  const stored = (c: NewConflict): StoredSubmission => ({
    ...c.submission.values,
    source: c.submission.source,
    formId: c.submission.formId,
    answers: c.submission.answers,
  });
  await tx`
    insert into patient_conflicts (patient_id, event_id, fields, ${tx.unsafe(SUBMISSION.column)}, submitted_at)
    select patient_id, event_id, fields::text[], submission, submitted_at from unnest(
      ${textColumn(conflicts, (c) => c.patientId)}::bigint[],
      ${textColumn(conflicts, (c) => c.submission.lastEventId)}::text[],
      ${textColumn(conflicts, (c) => `{${c.fields.join(",")}}`)}::text[] /* each an array literal */,
      ${byteaColumn(tx, conflicts, (c) => sealCell(keys, SUBMISSION, stored(c)))},
      ${textColumn(conflicts, (c) => c.submission.submittedAt)}::timestamptz[]
    ) as u(patient_id, event_id, fields, submission, submitted_at)
    on conflict (event_id) do nothing`;
}

/** The columns that hold a conflict's submission (sealed, or in clear for a conflict from before encryption). */
export const SUBMISSION_COLUMNS = `${SUBMISSION.column}, ${SUBMISSION.legacy}`;

/** A conflict row's submission (read with SUBMISSION_COLUMNS), opened. */
export function openSubmission(keys: Keys, row: Row): StoredSubmission {
  return openCell(keys, SUBMISSION, row[SUBMISSION.column], row[SUBMISSION.legacy]) as StoredSubmission;
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
