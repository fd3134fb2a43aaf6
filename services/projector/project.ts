// Writes one batch of decoded events in one transaction. Idempotent on event id: the
// guard table admits each event once, and only admitted events touch patients and forms,
// so a redelivered batch (crash before ack) changes nothing.
import type { Sql } from "postgres";
import type { PatientRecord } from "../../shared/sources/index.ts";
import type { DecodedEvent } from "./decode.ts";

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A date Postgres will accept, or null: a bad date must not fail the whole batch. */
function validDate(value: string | undefined): string | null {
  if (!value || !ISO_DATE.test(value)) return null;
  const d = new Date(value + "T00:00:00Z");
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(value) ? value : null;
}

function answersMap(e: DecodedEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of e.event.answers) out[a.label] = a.value;
  return out;
}

interface PatientRow {
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  full_name: string | null;
  phone: string | null;
  date_of_birth: string | null;
  gender: string | null;
  street: string | null;
  postal_code: string | null;
  city: string | null;
  country: string | null;
  consent: boolean | null;
  source: string;
  form_id: string | null;
  answers: Record<string, unknown>;
  first_event_id: string;
  last_event_id: string;
  events_count: number;
  submitted_at: Date;
}

function patientRow(e: DecodedEvent): PatientRow {
  const p: PatientRecord = e.event.patient;
  return {
    email: p.email?.toLowerCase() ?? null,
    first_name: p.firstName ?? null,
    last_name: p.lastName ?? null,
    full_name: p.fullName ?? null,
    phone: p.phone ?? null,
    date_of_birth: validDate(p.dateOfBirth),
    gender: p.gender ?? null,
    street: p.street ?? null,
    postal_code: p.postalCode ?? null,
    city: p.city ?? null,
    country: p.country ?? null,
    consent: p.consent ?? null,
    source: e.event.source,
    form_id: e.event.formId,
    answers: answersMap(e),
    first_event_id: e.eventId,
    last_event_id: e.eventId,
    events_count: 1,
    submitted_at: new Date(e.event.submittedAt),
  };
}

/**
 * Splits the batch's patient rows into rounds so that each round holds at most one row per
 * email (one upsert may not touch a row twice) and an email's rows come in submission
 * order. Every round is then upserted against what is stored, so the per-field rule
 * "the later submission wins" holds even within a batch.
 */
function upsertRounds(rows: PatientRow[]): PatientRow[][] {
  const byEmail = new Map<string, PatientRow[]>();
  for (const row of rows) byEmail.set(row.email!, [...(byEmail.get(row.email!) ?? []), row]);
  const rounds: PatientRow[][] = [];
  for (const group of byEmail.values()) {
    group.sort((a, b) => a.submitted_at.getTime() - b.submitted_at.getTime());
    group.forEach((row, i) => (rounds[i] ??= []).push(row));
  }
  // Key order inside a round: concurrent batches lock shared patients in the same order.
  for (const round of rounds) round.sort((a, b) => (a.email! < b.email! ? -1 : 1));
  return rounds;
}

/** A column as text: Postgres parses each element with the cast written next to its parameter. */
type Text = string | null;
const text = (v: string | number | boolean | Date | null | undefined): Text =>
  v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v);

/**
 * One `text[]` parameter per column, so a statement binds as many parameters for 10,000
 * rows as for one (a VALUES list binds one per cell, and postgres.js refuses more than
 * 65,534). The SQL casts each to its column's type and unnests the arrays side by side;
 * unnest yields rows in array order, so rows are still written in the order given.
 */
function column<T>(tx: Pick<Sql, "array">, rows: T[], value: (row: T) => string | number | boolean | Date | null | undefined) {
  return tx.array(rows.map((r) => text(value(r))) as string[], 25);
}

export interface BatchResult {
  inserted: number;
  duplicates: number;
  /** Patients written by this batch: their cached copies are now stale. */
  patientIds: string[];
}

/** Months already known to have a partition; filled only after a commit. */
export type PartitionCache = Set<string>;

export async function projectBatch(sql: Sql, events: DecodedEvent[], partitions: PartitionCache): Promise<BatchResult> {
  if (events.length === 0) return { inserted: 0, duplicates: 0, patientIds: [] };
  const months = new Map<string, Date>();
  for (const e of events) {
    const key = e.receivedAt.toISOString().slice(0, 7);
    if (!partitions.has(key)) months.set(key, e.receivedAt);
  }

  const touched = new Set<string>();
  const inserted = await sql.begin(async (tx) => {
    const col = <T>(rows: T[], value: (row: T) => string | number | boolean | Date | null | undefined) => column(tx, rows, value);
    for (const ts of months.values()) await tx`select hookline_ensure_month_partition(${ts})`;

    // Same id twice in one batch (two deliveries of one event) counts once. Every write
    // below goes in key order, so concurrent batches lock shared rows in the same order.
    const unique = [...new Map(events.map((e) => [e.eventId, e])).values()].sort((a, b) => (a.eventId < b.eventId ? -1 : 1));
    const admitted = await tx<{ event_id: string }[]>`
      insert into webhook_event_ids (event_id, received_at)
      select * from unnest(${col(unique, (e) => e.eventId)}::text[], ${col(unique, (e) => e.receivedAt)}::timestamptz[])
      on conflict (event_id) do nothing
      returning event_id`;
    const fresh = new Set(admitted.map((r) => r.event_id));
    const accepted = unique.filter((e) => fresh.has(e.eventId));
    if (accepted.length === 0) return 0;

    // Patients: upserts keyed on email (in rounds, see upsertRounds), plain inserts for those without one.
    const withEmail: PatientRow[] = [];
    const anonymous: PatientRow[] = [];
    for (const e of accepted) {
      const row = patientRow(e);
      if (row.email) withEmail.push(row);
      else anonymous.push(row);
    }
    const patientRows = (rows: PatientRow[]) => tx`
      select * from unnest(
        ${col(rows, (r) => r.email)}::text[], ${col(rows, (r) => r.first_name)}::text[],
        ${col(rows, (r) => r.last_name)}::text[], ${col(rows, (r) => r.full_name)}::text[],
        ${col(rows, (r) => r.phone)}::text[], ${col(rows, (r) => r.date_of_birth)}::date[],
        ${col(rows, (r) => r.gender)}::text[], ${col(rows, (r) => r.street)}::text[],
        ${col(rows, (r) => r.postal_code)}::text[], ${col(rows, (r) => r.city)}::text[],
        ${col(rows, (r) => r.country)}::text[], ${col(rows, (r) => r.consent)}::boolean[],
        ${col(rows, (r) => r.source)}::text[], ${col(rows, (r) => r.form_id)}::text[],
        ${col(rows, (r) => JSON.stringify(r.answers))}::jsonb[], ${col(rows, (r) => r.first_event_id)}::text[],
        ${col(rows, (r) => r.last_event_id)}::text[], ${col(rows, (r) => r.events_count)}::int[],
        ${col(rows, (r) => r.submitted_at)}::timestamptz[])`;
    const PATIENT_COLUMNS = tx`(email, first_name, last_name, full_name, phone, date_of_birth, gender, street, postal_code, city,
      country, consent, source, form_id, answers, first_event_id, last_event_id, events_count, submitted_at)`;
    const patientIdByEvent = new Map<string, string>();
    const idByEmail = new Map<string, string>();
    for (const rows of upsertRounds(withEmail)) {
      const upserted = await tx<{ id: string; email: string }[]>`
        insert into patients ${PATIENT_COLUMNS} ${patientRows(rows)}
        on conflict (email) do update set
          first_name    = case when excluded.submitted_at >= patients.submitted_at then coalesce(excluded.first_name, patients.first_name) else coalesce(patients.first_name, excluded.first_name) end,
          last_name     = case when excluded.submitted_at >= patients.submitted_at then coalesce(excluded.last_name, patients.last_name) else coalesce(patients.last_name, excluded.last_name) end,
          full_name     = case when excluded.submitted_at >= patients.submitted_at then coalesce(excluded.full_name, patients.full_name) else coalesce(patients.full_name, excluded.full_name) end,
          phone         = case when excluded.submitted_at >= patients.submitted_at then coalesce(excluded.phone, patients.phone) else coalesce(patients.phone, excluded.phone) end,
          date_of_birth = case when excluded.submitted_at >= patients.submitted_at then coalesce(excluded.date_of_birth, patients.date_of_birth) else coalesce(patients.date_of_birth, excluded.date_of_birth) end,
          gender        = case when excluded.submitted_at >= patients.submitted_at then coalesce(excluded.gender, patients.gender) else coalesce(patients.gender, excluded.gender) end,
          street        = case when excluded.submitted_at >= patients.submitted_at then coalesce(excluded.street, patients.street) else coalesce(patients.street, excluded.street) end,
          postal_code   = case when excluded.submitted_at >= patients.submitted_at then coalesce(excluded.postal_code, patients.postal_code) else coalesce(patients.postal_code, excluded.postal_code) end,
          city          = case when excluded.submitted_at >= patients.submitted_at then coalesce(excluded.city, patients.city) else coalesce(patients.city, excluded.city) end,
          country       = case when excluded.submitted_at >= patients.submitted_at then coalesce(excluded.country, patients.country) else coalesce(patients.country, excluded.country) end,
          consent       = case when excluded.submitted_at >= patients.submitted_at then coalesce(excluded.consent, patients.consent) else coalesce(patients.consent, excluded.consent) end,
          answers       = case when excluded.submitted_at >= patients.submitted_at then patients.answers || excluded.answers else excluded.answers || patients.answers end,
          source        = case when excluded.submitted_at >= patients.submitted_at then excluded.source else patients.source end,
          form_id       = case when excluded.submitted_at >= patients.submitted_at then excluded.form_id else patients.form_id end,
          last_event_id = case when excluded.submitted_at >= patients.submitted_at then excluded.last_event_id else patients.last_event_id end,
          submitted_at  = greatest(patients.submitted_at, excluded.submitted_at),
          events_count  = patients.events_count + excluded.events_count,
          updated_at    = now()
        returning id, email`;
      for (const r of upserted) idByEmail.set(r.email, r.id);
    }
    if (idByEmail.size > 0) {
      for (const e of accepted) {
        const email = e.event.patient.email?.toLowerCase();
        if (email) patientIdByEvent.set(e.eventId, idByEmail.get(email)!);
      }
    }
    if (anonymous.length > 0) {
      const ids = await tx<{ id: string; first_event_id: string }[]>`
        insert into patients ${PATIENT_COLUMNS} ${patientRows(anonymous)}
        returning id, first_event_id`;
      for (const r of ids) patientIdByEvent.set(r.first_event_id, r.id);
    }

    for (const id of patientIdByEvent.values()) touched.add(id);
    await tx`
      insert into webhook_events (event_id, received_at, source, stream_seq, content_type, provider_event_id, form_id,
        submitted_at, patient_id, body, trace_id, canonical)
      select * from unnest(
        ${col(accepted, (e) => e.eventId)}::text[], ${col(accepted, (e) => e.receivedAt)}::timestamptz[],
        ${col(accepted, (e) => e.event.source)}::text[], ${col(accepted, (e) => e.streamSeq)}::bigint[],
        ${col(accepted, (e) => e.contentType)}::text[], ${col(accepted, (e) => e.event.providerEventId)}::text[],
        ${col(accepted, (e) => e.event.formId)}::text[], ${col(accepted, (e) => new Date(e.event.submittedAt))}::timestamptz[],
        ${col(accepted, (e) => patientIdByEvent.get(e.eventId))}::bigint[], ${col(accepted, (e) => e.body)}::text[],
        ${col(accepted, (e) => e.traceId)}::text[], ${col(accepted, (e) => JSON.stringify({ ...e.event, eventId: e.eventId }))}::jsonb[])`;

    const withForm = accepted.filter((e) => e.event.formId);
    if (withForm.length > 0) {
      await tx`
        insert into form_submissions (event_id, source, form_id, patient_id, submitted_at, answers)
        select * from unnest(
          ${col(withForm, (e) => e.eventId)}::text[], ${col(withForm, (e) => e.event.source)}::text[],
          ${col(withForm, (e) => e.event.formId)}::text[], ${col(withForm, (e) => patientIdByEvent.get(e.eventId))}::bigint[],
          ${col(withForm, (e) => new Date(e.event.submittedAt))}::timestamptz[], ${col(withForm, (e) => JSON.stringify(e.event.answers))}::jsonb[])`;
      const questions = new Map<string, { source: string; form_id: string; label: string; field_id: string | null; field_type: string | null; answers_count: number }>();
      for (const e of withForm) {
        for (const a of e.event.answers) {
          const key = `${e.event.source}\0${e.event.formId}\0${a.label}`;
          const q = questions.get(key);
          if (q) q.answers_count += 1;
          else questions.set(key, { source: e.event.source, form_id: e.event.formId!, label: a.label, field_id: a.fieldId ?? null, field_type: a.fieldType ?? null, answers_count: 1 });
        }
      }
      const qs = [...questions.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, q]) => q);
      await tx`
        insert into form_questions (source, form_id, label, field_id, field_type, answers_count)
        select * from unnest(
          ${col(qs, (q) => q.source)}::text[], ${col(qs, (q) => q.form_id)}::text[], ${col(qs, (q) => q.label)}::text[],
          ${col(qs, (q) => q.field_id)}::text[], ${col(qs, (q) => q.field_type)}::text[], ${col(qs, (q) => q.answers_count)}::bigint[])
        on conflict (source, form_id, label) do update set
          field_id = coalesce(excluded.field_id, form_questions.field_id),
          field_type = coalesce(excluded.field_type, form_questions.field_type),
          last_seen = now(),
          answers_count = form_questions.answers_count + excluded.answers_count`;
    }
    return accepted.length;
  });

  for (const key of months.keys()) partitions.add(key);
  return { inserted, duplicates: events.length - inserted, patientIds: [...touched] };
}
