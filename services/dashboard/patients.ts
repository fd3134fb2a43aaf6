// Patient queries and their API shape: canonical field names at the top level.
import type { Row, Sql } from "postgres";
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

function toPatientDto(r: Row): PatientDto {
  return {
    id: String(r.id),
    ...(Object.fromEntries(PATIENT_FIELDS.map((f) => [f.name, r[f.column]])) as PatientValues),
    source: r.source,
    formId: r.form_id,
    eventId: r.last_event_id,
    submittedAt: iso(r.submitted_at),
    eventsCount: r.events_count,
    answers: r.answers,
    openConflicts: r.open_conflicts,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

const FIELD_COLUMNS = PATIENT_FIELDS.map(selectColumn);
const COLUMNS = `id, ${FIELD_COLUMNS.join(", ")}, source, form_id, last_event_id, submitted_at, events_count, answers,
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

export async function findPatients(sql: Sql, query: PatientQuery): Promise<PatientDto[]> {
  const q = query.q?.trim();
  const nameOrPhone =
    q && !q.includes("@")
      ? sql`and (full_name ilike ${`%${likeLiteral(q)}%`} or phone = ${q}
          or last_name ilike ${`${likeLiteral(q)}%`})`
      : sql``;
  const rows = await sql`
    select ${sql.unsafe(COLUMNS)} from patients
    where true
      ${q?.includes("@") ? sql`and email = ${q.toLowerCase()}` : sql``}
      ${nameOrPhone}
      ${query.source ? sql`and source = ${query.source}` : sql``}
      ${query.beforeId ? sql`and id < ${query.beforeId}::bigint` : sql``}
    order by id desc
    limit ${query.limit}`;
  return rows.map(toPatientDto);
}

export async function getPatient(sql: Sql, id: string): Promise<PatientDto | null> {
  const rows = await sql`select ${sql.unsafe(COLUMNS)} from patients where id = ${id}::bigint`;
  return rows[0] ? toPatientDto(rows[0]) : null;
}
