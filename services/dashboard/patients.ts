// Patient queries and their API shape: canonical field names at the top level. Encrypted
// fields and answers are opened here (shared/db/sealed.ts); email and phone are searched by
// exact value through their blind indexes, names by substring in clear (see patient-fields.ts).
import type { Row, Sql, TransactionSql } from "postgres";
import { lookupIndexes } from "../../shared/crypto/blind-index.ts";
import type { Keys } from "../../shared/crypto/keys.ts";
import { byteaColumn } from "../../shared/db/arrays.ts";
import { openCell, PATIENTS, sealedColumn } from "../../shared/db/sealed.ts";
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

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

const ANSWERS = sealedColumn(PATIENTS, "answers_enc");
/** Each field with its sealed column when it is encrypted. */
const FIELDS = PATIENT_FIELDS.map((f) => ({
  f,
  sealed: f.encrypted ? sealedColumn(PATIENTS, `${f.column}_enc`) : null,
}));

function toPatientDto(keys: Keys, r: Row): PatientDto {
  return {
    id: String(r.id),
    ...(Object.fromEntries(
      // The legacy column's value for a row written before encryption (the projector seals those at its start).
      FIELDS.map(({ f, sealed }) => [
        f.name,
        sealed ? openCell(keys, sealed, r[sealed.column], r[f.column]) : r[f.column],
      ]),
    ) as PatientValues),
    source: r.source,
    formId: r.form_id,
    eventId: r.last_event_id,
    submittedAt: iso(r.submitted_at),
    eventsCount: r.events_count,
    answers: (openCell(keys, ANSWERS, r[ANSWERS.column], r[ANSWERS.legacy]) ?? {}) as Record<string, unknown>,
    openConflicts: r.open_conflicts,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

const FIELD_COLUMNS = FIELDS.flatMap(({ f, sealed }) =>
  sealed ? [sealed.column, selectColumn(f)] : [selectColumn(f)],
);
const COLUMNS = `id, ${FIELD_COLUMNS.join(", ")}, source, form_id, last_event_id, submitted_at, events_count,
  ${ANSWERS.column}, ${ANSWERS.legacy},
  created_at, updated_at,
  (select count(*)::int from patient_conflicts c
    where c.patient_id = patients.id and c.status = 'open') as open_conflicts`;

export interface PatientQuery {
  q?: string;
  source?: string;
  limit: number;
  /** Keyset cursor: the id of the last patient of the previous page. */
  beforeId?: string;
}

/** A search term used inside LIKE: its own % and _ match literally. */
const likeLiteral = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** `column` equal to one of `indexes` (a blind index under each key: any matches during a rebuild). */
const indexMatch = (sql: Sql | TransactionSql, column: string, indexes: Buffer[]) =>
  sql`${sql(column)} = any(${byteaColumn(sql, indexes, (i) => i)})`;

export async function findPatients(sql: Sql | TransactionSql, keys: Keys, query: PatientQuery): Promise<PatientDto[]> {
  const q = query.q?.trim();
  // An email: its exact value, normalized as stored. Otherwise a name (substring of the full
  // name, prefix of the last name) or a phone number in any common notation.
  const search = !q
    ? sql``
    : q.includes("@")
      ? sql`and ${indexMatch(sql, "email_bidx", lookupIndexes(keys.blindIndex, "email", q))}`
      : sql`and (full_name ilike ${`%${likeLiteral(q)}%`} or last_name ilike ${`${likeLiteral(q)}%`}
          or ${indexMatch(sql, "phone_bidx", lookupIndexes(keys.blindIndex, "phone", q))})`;
  const rows = await sql`
    select ${sql.unsafe(COLUMNS)} from patients
    where true
      ${search}
      ${query.source ? sql`and source = ${query.source}` : sql``}
      ${query.beforeId ? sql`and id < ${query.beforeId}::bigint` : sql``}
    order by id desc
    limit ${query.limit}`;
  return rows.map((r) => toPatientDto(keys, r));
}

export async function getPatient(sql: Sql | TransactionSql, keys: Keys, id: string): Promise<PatientDto | null> {
  const rows = await sql`select ${sql.unsafe(COLUMNS)} from patients where id = ${id}::bigint`;
  return rows[0] ? toPatientDto(keys, rows[0]) : null;
}
