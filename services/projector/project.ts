// Writes one batch of decoded events in one transaction. Idempotent on event id: the
// guard table admits each event once, and only admitted events touch patients and forms,
// so a redelivered batch (crash before ack) changes nothing but the audit trail, which
// records each delivery's receipt (outcome "duplicate").
import type { Sql, TransactionSql } from "postgres";
import { recordAudit } from "../../shared/audit/writer.ts";
import { auditHashKey } from "../../shared/crypto/audit-hash-key.ts";
import type { Keys } from "../../shared/crypto/keys.ts";
import { byteaColumn, type Cell, textColumn } from "../../shared/db/arrays.ts";
import { clientsOfSources, declareClientsNamed } from "../../shared/db/patients.ts";
import { CANONICAL_FORM, FORM_SUBMISSIONS, sealCell, sealedColumn, WEBHOOK_EVENTS } from "../../shared/db/sealed.ts";
import type { CountedEvent } from "../../shared/stats.ts";
import { batchEntries } from "./audit.ts";
import type { DecodedEvent } from "./decode.ts";
import { emailLookups, erasedAfterReceipt, readTombstones, type Tombstone } from "./erased.ts";
import { ensurePartitions, isMissingPartition } from "./partitions.ts";
import { writeBatchPatients } from "./patients.ts";

export interface BatchResult {
  inserted: number;
  duplicates: number;
  /** Events dropped because their patient was erased after they were received (erased.ts). */
  erased: number;
  /** Patients written by this batch: their cached copies are now stale. */
  patientIds: string[];
  /** Submissions held back as identity conflicts (stored, but merged into no patient). */
  conflicts: number;
  /** The events this batch stored for the first time (not duplicates): what the stats count. */
  stored: CountedEvent[];
}

export async function projectBatch(sql: Sql, keys: Keys, events: DecodedEvent[]): Promise<BatchResult> {
  if (events.length === 0) return { inserted: 0, duplicates: 0, erased: 0, patientIds: [], conflicts: 0, stored: [] };
  // Sealed before the transaction, so its locks are not held while encrypting.
  const sealed = sealEvents(keys, events);
  try {
    return await writeBatchOnce(sql, keys, events, sealed);
  } catch (error) {
    if (!isMissingPartition(error)) throw error;
    // An event from a month with no partition (a replayed old event; maintenance keeps the
    // coming months ready): create it in a short transaction of its own, so no batch holds
    // the lock that takes on webhook_events, and write the batch again.
    await ensurePartitions(
      sql,
      events.map((e) => e.receivedAt),
    );
    return writeBatchOnce(sql, keys, events, sealed);
  }
}

/** A patient of the batch was erased while it ran (erased.ts): the batch rolled back, to be written again. */
class ErasedDuringBatch extends Error {
  readonly code = "erased_during_batch";
}

/** writeBatch, written once more when an erasure committed while it ran: the second sees it at its start. */
async function writeBatchOnce(
  sql: Sql,
  keys: Keys,
  events: DecodedEvent[],
  sealed: Map<string, SealedEvent>,
): Promise<BatchResult> {
  try {
    return await writeBatch(sql, keys, events, sealed);
  } catch (error) {
    if (!(error instanceof ErasedDuringBatch)) throw error;
    return writeBatch(sql, keys, events, sealed);
  }
}

const BODY = sealedColumn(WEBHOOK_EVENTS, "body_enc");
const ANSWERS = sealedColumn(FORM_SUBMISSIONS, "answers_enc");

/** What an event stores sealed: its raw body, its canonical form and its form answers. */
interface SealedEvent {
  body: Buffer | null;
  canonical: Buffer | null;
  answers: Buffer | null;
}

function sealEvents(keys: Keys, events: DecodedEvent[]): Map<string, SealedEvent> {
  return new Map(
    events.map((e) => [
      e.eventId,
      {
        body: sealCell(keys, BODY, e.body),
        canonical: sealCell(keys, CANONICAL_FORM, { ...e.event, eventId: e.eventId }),
        answers: e.event.formId ? sealCell(keys, ANSWERS, e.event.answers) : null,
      },
    ]),
  );
}

/**
 * The batch's one transaction: admit new event ids, then patients, raw events, form data, and
 * last the audit entries (a receipt a message, the patients written), whose lock is held to the commit.
 */
async function writeBatch(
  sql: Sql,
  keys: Keys,
  events: DecodedEvent[],
  sealed: Map<string, SealedEvent>,
): Promise<BatchResult> {
  const lookups = emailLookups(keys, events);
  const { inserted, erased, conflicts, patientIds, stored } = await sql.begin(async (tx) => {
    // Each source's client (migration 011), named on every row written, null included (016,
    // 020: the stamping trigger then has nothing to look up). Sent with the admission and the
    // erasure tombstones of the batch's emails, one round trip for all four.
    const [, admittedEvents, clients, tombstones] = await Promise.all([
      declareClientsNamed(tx),
      admitNewEvents(tx, events, sealed),
      clientsOfSources(tx, [...new Set(events.map((e) => e.event.source))]),
      readTombstones(tx, lookups),
    ]);
    // An erased patient's event received before its erasure is admitted (a redelivery stays a
    // duplicate) but writes nothing. Only admitted events count: a duplicate writes nothing anyway.
    const fresh = new Set(admittedEvents.map((e) => e.eventId));
    const freshLookups = lookups.filter((l) => fresh.has(l.event.eventId));
    const erasedIds = erasedAfterReceipt(tombstones, freshLookups, clients);
    const accepted = admittedEvents.filter((e) => !erasedIds.has(e.eventId));
    const acceptedLookups = freshLookups.filter((l) => !erasedIds.has(l.event.eventId));
    const written =
      accepted.length > 0
        ? await writeBatchPatients(tx, keys, accepted, clients)
        : { patientIdByEvent: new Map<string, string>(), conflicts: 0, effects: new Map() };
    // Sent together, without waiting for each answer (postgres.js pipelines a transaction's
    // queries on its connection): one round trip instead of five. Postgres runs them in the
    // order sent, so the audit lock is still taken last; the first statement to fail rejects
    // first, so a missing partition is still told apart from the failures it causes after it.
    const admitted = new Set(accepted.map((e) => e.eventId));
    const [late] = await Promise.all([
      // Again at the end: an erasure that committed after the first look (erased.ts).
      accepted.length > 0 ? readTombstones(tx, acceptedLookups) : [],
      ...(accepted.length > 0
        ? [
            insertRawEvents(tx, accepted, written.patientIdByEvent, sealed, clients),
            ...insertFormData(tx, accepted, written.patientIdByEvent, sealed, clients),
          ]
        : []),
      // Admitted with its canonical form, an erased patient's event keeps no more than its id.
      ...(erasedIds.size > 0 ? [clearCanonicalForms(tx, [...erasedIds])] : []),
      recordAudit(tx, batchEntries(events, { ...written, admitted, erased: erasedIds }, auditHashKey(keys.blindIndex))),
    ]);
    if (erasedAfterReceipt(late as Tombstone[], acceptedLookups, clients).size > 0)
      throw new ErasedDuringBatch("a patient of the batch was erased while it was written");
    return {
      inserted: accepted.length,
      erased: erasedIds.size,
      conflicts: written.conflicts,
      patientIds: [...new Set(written.patientIdByEvent.values())],
      stored: accepted.map((e) => ({
        source: e.event.source,
        formId: e.event.formId ?? null,
        receivedAt: e.receivedAt,
      })),
    };
  });
  return { inserted, duplicates: events.length - inserted - erased, erased, patientIds, conflicts, stored };
}

/**
 * The events whose ids the guard table had not seen, in event-id order. The same id twice in
 * one batch (two deliveries of one event) counts once. Every write after this goes in key
 * order, so concurrent batches lock shared rows in the same order. The guard row holds the
 * event's canonical form (migration 023), written here with it rather than updated in later.
 */
async function admitNewEvents(
  tx: TransactionSql,
  events: DecodedEvent[],
  sealed: Map<string, SealedEvent>,
): Promise<DecodedEvent[]> {
  const unique = [...new Map(events.map((e) => [e.eventId, e])).values()].sort((a, b) =>
    a.eventId < b.eventId ? -1 : 1,
  );
  const admitted = await tx<{ event_id: string }[]>`
    insert into webhook_event_ids (event_id, received_at, canonical_enc)
    select * from unnest(
      ${textColumn(unique, (e) => e.eventId)}::text[],
      ${textColumn(unique, (e) => e.receivedAt)}::timestamptz[],
      ${byteaColumn(tx, unique, (e) => sealed.get(e.eventId)!.canonical)})
    on conflict (event_id) do nothing
    returning event_id`;
  const fresh = new Set(admitted.map((r) => r.event_id));
  return unique.filter((e) => fresh.has(e.eventId));
}

/** The guard rows of `eventIds` without their canonical forms. */
function clearCanonicalForms(tx: TransactionSql, eventIds: string[]) {
  return tx`update webhook_event_ids set canonical_enc = null where event_id = any(${eventIds}::text[])`;
}

/** The raw events (the bytes as received, sealed; trace id), linked to their patients. */
async function insertRawEvents(
  tx: TransactionSql,
  accepted: DecodedEvent[],
  patientIdByEvent: Map<string, string>,
  sealed: Map<string, SealedEvent>,
  clients: Map<string, string>,
): Promise<void> {
  const col = <T>(rows: readonly T[], value: (row: T) => Cell) => textColumn(rows, value);
  await tx`
    insert into webhook_events (event_id, received_at, source, stream_seq, content_type, provider_event_id, form_id,
      submitted_at, patient_id, body_enc, trace_id, client_id)
    select * from unnest(
      ${col(accepted, (e) => e.eventId)}::text[], ${col(accepted, (e) => e.receivedAt)}::timestamptz[],
      ${col(accepted, (e) => e.event.source)}::text[], ${col(accepted, (e) => e.streamSeq)}::bigint[],
      ${col(accepted, (e) => e.contentType)}::text[], ${col(accepted, (e) => e.event.providerEventId)}::text[],
      ${col(accepted, (e) => e.event.formId)}::text[],
      ${col(accepted, (e) => new Date(e.event.submittedAt))}::timestamptz[],
      ${col(accepted, (e) => patientIdByEvent.get(e.eventId))}::bigint[],
      ${byteaColumn(tx, accepted, (e) => sealed.get(e.eventId)!.body)},
      ${col(accepted, (e) => e.traceId)}::text[],
      ${col(accepted, (e) => clients.get(e.event.source))}::bigint[])`;
}

interface QuestionCount {
  source: string;
  form_id: string;
  label: string;
  field_id: string | null;
  field_type: string | null;
  answers_count: number;
}

/** Each form's questions in this batch with how often they were answered, in key order. */
function countQuestions(withForm: DecodedEvent[]): QuestionCount[] {
  // Keyed per form, then per label: one key built an event rather than one an answer (the
  // concatenated key per answer was 5% of the projector's CPU in a profile).
  const forms = new Map<string, Map<string, QuestionCount>>();
  for (const e of withForm) {
    const formKey = `${e.event.source}\0${e.event.formId}`;
    let questions = forms.get(formKey);
    if (!questions) {
      questions = new Map();
      forms.set(formKey, questions);
    }
    for (const a of e.event.answers) {
      const q = questions.get(a.label);
      if (q) q.answers_count += 1;
      else {
        questions.set(a.label, {
          source: e.event.source,
          form_id: e.event.formId!,
          label: a.label,
          field_id: a.fieldId ?? null,
          field_type: a.fieldType ?? null,
          answers_count: 1,
        });
      }
    }
  }
  // Sorted as the single key "source \0 form \0 label" sorted: by source, form, then label.
  const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...forms.keys()]
    .sort(byCodeUnits)
    .flatMap((k) => [...forms.get(k)!.entries()].sort(([a], [b]) => byCodeUnits(a, b)).map(([, q]) => q));
}

/** Form-specific data: each submission with its answers, and the questions each form has asked (two statements, sent at once). */
function insertFormData(
  tx: TransactionSql,
  accepted: DecodedEvent[],
  patientIdByEvent: Map<string, string>,
  sealed: Map<string, SealedEvent>,
  clients: Map<string, string>,
): Promise<unknown>[] {
  const withForm = accepted.filter((e) => e.event.formId);
  if (withForm.length === 0) return [];
  const col = <T>(rows: readonly T[], value: (row: T) => Cell) => textColumn(rows, value);
  const submissions = tx`
    insert into form_submissions (event_id, source, form_id, patient_id, submitted_at, answers_enc, client_id)
    select * from unnest(
      ${col(withForm, (e) => e.eventId)}::text[], ${col(withForm, (e) => e.event.source)}::text[],
      ${col(withForm, (e) => e.event.formId)}::text[],
      ${col(withForm, (e) => patientIdByEvent.get(e.eventId))}::bigint[],
      ${col(withForm, (e) => new Date(e.event.submittedAt))}::timestamptz[],
      ${byteaColumn(tx, withForm, (e) => sealed.get(e.eventId)!.answers)},
      ${col(withForm, (e) => clients.get(e.event.source))}::bigint[])`;
  const qs = countQuestions(withForm);
  const questions = tx`
    insert into form_questions (source, form_id, label, field_id, field_type, answers_count)
    select * from unnest(
      ${col(qs, (q) => q.source)}::text[], ${col(qs, (q) => q.form_id)}::text[], ${col(qs, (q) => q.label)}::text[],
      ${col(qs, (q) => q.field_id)}::text[], ${col(qs, (q) => q.field_type)}::text[],
      ${col(qs, (q) => q.answers_count)}::bigint[])
    on conflict (source, form_id, label) do update set
      field_id = coalesce(excluded.field_id, form_questions.field_id),
      field_type = coalesce(excluded.field_type, form_questions.field_type),
      last_seen = now(),
      answers_count = form_questions.answers_count + excluded.answers_count`;
  return [submissions.execute(), questions.execute()];
}
