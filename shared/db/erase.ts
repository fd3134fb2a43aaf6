// Erasure (right to be forgotten): one patient out of every table that holds its data, in one
// transaction with its audit entry, which names the patient's id and what was removed (counts)
// but none of its data. Shared by `hookline patients erase` and DELETE /api/v1/patients/:id.
//
// What goes: the patient row, its conflicts, its form submissions and its raw events (found by
// patient id; webhook_events has no index on it, so this scans the partitions: erasure is rare).
// What stays: the events' ids in webhook_event_ids (sender-chosen ids, no patient data), so a
// redelivery or replay of an erased event is still a duplicate and cannot bring the patient back;
// the audit trail (append-only, hash-chained; ids and hashes, never values). What is added: a
// tombstone of the email's blind index (migration 022), so a webhook received before the erasure
// and projected after it does not bring the patient back either, under any email its events
// carried.
import type { Sql } from "postgres";
import { type AuditEntry, recordAudit } from "../audit/writer.ts";
import { blindIndex } from "../crypto/blind-index.ts";
import type { Keys } from "../crypto/keys.ts";
import { byteaColumn, textColumn } from "./arrays.ts";
import { openCell, sealedColumn, WEBHOOK_EVENTS } from "./sealed.ts";

export interface ErasedRows {
  patients: number;
  conflicts: number;
  formSubmissions: number;
  webhookEvents: number;
  /**
   * The erased raw events: their ids and WEBHOOKS sequences (to remove what JetStream still
   * holds), their canonical forms as stored (sealed, or in clear before 010: the emails and
   * phones the patient was known by, e.g. a patient merged into it), and whether each was a
   * conflict held back (another person's submission naming the patient's email).
   */
  events: {
    eventId: string;
    streamSeq: number | null;
    canonical: { sealed: Uint8Array | null; legacy: unknown };
    conflict: boolean;
  }[];
}

const CANONICAL = sealedColumn(WEBHOOK_EVENTS, "canonical_enc");

/**
 * The erasure's tombstones: the patient's email index at its client, and the index of every
 * email its own erased events carried (a patient merged into it) at each event's client (the
 * client the projector would give a webhook of that source). Each once.
 */
function erasureTombstones(
  keys: Keys,
  patient: { clientId: string | null; emailIndex: Uint8Array | null },
  events: readonly { canonical_enc: Uint8Array | null; canonical: unknown; client_id: string | null }[],
): { client: string; index: Uint8Array }[] {
  const out = new Map<string, { client: string; index: Uint8Array }>();
  const add = (clientId: string | null, index: Uint8Array | null) => {
    if (!index) return;
    const client = clientId ?? "0";
    out.set(`${client}\n${Buffer.from(index).toString("hex")}`, { client, index });
  };
  add(patient.clientId, patient.emailIndex);
  for (const e of events) {
    const canonical = openCell(keys, CANONICAL, e.canonical_enc, e.canonical) as {
      patient?: { email?: unknown };
    } | null;
    const email = canonical?.patient?.email;
    if (typeof email === "string" && email) add(e.client_id, blindIndex(keys.blindIndex, "email", email));
  }
  return [...out.values()];
}

/**
 * Erases patient `id` and records `audit` (with the counts added to its details) in the same
 * transaction; null when there is no such patient (nothing recorded). Locks the patient first,
 * as every writer of a patient does, so a projector batch merging into it waits or goes first.
 */
export async function erasePatient(
  sql: Sql,
  /** Opens the erased events' canonical forms and indexes the emails they carried (the tombstones). */
  keys: Keys,
  id: string,
  audit: Omit<AuditEntry, "entityType" | "entityId" | "action"> & { details?: AuditEntry["details"] },
): Promise<ErasedRows | null> {
  return sql.begin(async (tx) => {
    const [found] = await tx`select id, client_id::text, email_bidx from patients where id = ${id}::bigint for update`;
    if (!found) return null;
    const events = await tx<
      {
        event_id: string;
        stream_seq: string | null;
        canonical_enc: Uint8Array | null;
        canonical: unknown;
        client_id: string | null;
      }[]
    >`
      delete from webhook_events where patient_id = ${id}::bigint
      returning event_id, stream_seq, canonical_enc, canonical, client_id::text`;
    const submissions = await tx`delete from form_submissions where patient_id = ${id}::bigint`;
    const conflicts = await tx<{ event_id: string }[]>`
      delete from patient_conflicts where patient_id = ${id}::bigint returning event_id`;
    const conflictEvents = new Set(conflicts.map((c) => c.event_id));
    // Tombstones (migration 022): a webhook of this person received before now and still to be
    // projected must not create the patient again, under its email or one its events carried.
    const tombstones = erasureTombstones(
      keys,
      { clientId: found.client_id, emailIndex: found.email_bidx },
      events.filter((e) => !conflictEvents.has(e.event_id)),
    );
    if (tombstones.length)
      await tx`
        insert into patient_erasures (client_key, email_bidx)
        select * from unnest(${textColumn(tombstones, (t) => t.client)}::bigint[], ${byteaColumn(tx, tombstones, (t) => t.index)})
        on conflict (client_key, email_bidx) do update set erased_at = now()`;
    const patients = await tx`delete from patients where id = ${id}::bigint`;
    const erased: ErasedRows = {
      patients: patients.count,
      conflicts: conflicts.count,
      formSubmissions: submissions.count,
      webhookEvents: events.length,
      events: events.map((e) => ({
        eventId: e.event_id,
        streamSeq: e.stream_seq === null ? null : Number(e.stream_seq),
        canonical: { sealed: e.canonical_enc, legacy: e.canonical },
        conflict: conflictEvents.has(e.event_id),
      })),
    };
    const { events: _, ...counts } = erased;
    // Last: the audit lock is held from here to the commit.
    await recordAudit(tx, {
      ...audit,
      action: "patient.erase",
      entityType: "patient",
      entityId: id,
      details: { ...audit.details, erased: counts },
    });
    return erased;
  });
}
