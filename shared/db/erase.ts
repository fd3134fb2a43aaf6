// Erasure (right to be forgotten): one patient out of every table that holds its data, in one
// transaction with its audit entry, which names the patient's id and what was removed (counts)
// but none of its data. Shared by `hookline patients erase` and DELETE /api/v1/patients/:id.
//
// What goes: the patient row, its conflicts, its form submissions and its raw events (found by
// patient id; webhook_events has no index on it, so this scans the partitions: erasure is rare).
// What stays: the events' guard rows in webhook_event_ids, cleared of their canonical forms to
// sender-chosen ids and times of receipt (no patient data), so a
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
import { CANONICAL_FORM, openCell } from "./sealed.ts";

export interface ErasedRows {
  patients: number;
  conflicts: number;
  formSubmissions: number;
  webhookEvents: number;
  /**
   * The erased raw events: their ids and WEBHOOKS sequences (to remove what JetStream still
   * holds), and the email and phone each carried (the ones the patient was known by, e.g. a
   * patient merged into it), read from its canonical form; null for a conflict held back
   * (another person's submission naming the patient's email).
   */
  events: { eventId: string; streamSeq: number | null; carried: Carried | null }[];
}

/** The email and phone an event's canonical form names (as sent: phones are normalized by their readers). */
interface Carried {
  email: string | null;
  phone: string | null;
}

/** What an event's canonical form (sealed, or in clear before 010) says of its patient's email and phone. */
function carriedBy(keys: Keys, event: { canonical_enc: Uint8Array | null; canonical: unknown }): Carried {
  const canonical = openCell(keys, CANONICAL_FORM, event.canonical_enc, event.canonical) as {
    patient?: { email?: unknown; phone?: unknown };
  } | null;
  const text = (v: unknown) => (typeof v === "string" && v ? v : null);
  return { email: text(canonical?.patient?.email), phone: text(canonical?.patient?.phone) };
}

/**
 * The erasure's tombstones: the patient's email index at its client, and the index of every
 * email its own erased events carried (a patient merged into it) at each event's client (the
 * client the projector would give a webhook of that source). Each once.
 */
function erasureTombstones(
  keys: Keys,
  patient: { clientId: string | null; emailIndex: Uint8Array | null },
  events: readonly { carried: Carried | null; clientId: string | null }[],
): { client: string; index: Uint8Array }[] {
  const out = new Map<string, { client: string; index: Uint8Array }>();
  const add = (clientId: string | null, index: Uint8Array | null) => {
    if (!index) return;
    const client = clientId ?? "0";
    out.set(`${client}\n${Buffer.from(index).toString("hex")}`, { client, index });
  };
  add(patient.clientId, patient.emailIndex);
  for (const e of events) if (e.carried?.email) add(e.clientId, blindIndex(keys.blindIndex, "email", e.carried.email));
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
      with raw as (
        delete from webhook_events where patient_id = ${id}::bigint returning event_id, stream_seq, client_id
      ), forms as (
        -- Read as they were: deleting a raw event clears its guard row's canonical form (migration
        -- 023's trigger, at the end of this statement), and every part of it reads one snapshot.
        select event_id, canonical_enc, canonical from webhook_event_ids where event_id in (select event_id from raw)
      )
      select raw.event_id, raw.stream_seq, forms.canonical_enc, forms.canonical, raw.client_id::text
      from raw left join forms using (event_id)`;
    const submissions = await tx`delete from form_submissions where patient_id = ${id}::bigint`;
    const conflicts = await tx<{ event_id: string }[]>`
      delete from patient_conflicts where patient_id = ${id}::bigint returning event_id`;
    const conflictEvents = new Set(conflicts.map((c) => c.event_id));
    // Each canonical form opened once, here: the tombstones and the stream sweep both use it.
    const erasedEvents = events.map((e) => ({
      eventId: e.event_id,
      streamSeq: e.stream_seq === null ? null : Number(e.stream_seq),
      carried: conflictEvents.has(e.event_id) ? null : carriedBy(keys, e),
      clientId: e.client_id,
    }));
    // Tombstones (migration 022): a webhook of this person received before now and still to be
    // projected must not create the patient again, under its email or one its events carried.
    const tombstones = erasureTombstones(
      keys,
      { clientId: found.client_id, emailIndex: found.email_bidx },
      erasedEvents,
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
      events: erasedEvents.map(({ eventId, streamSeq, carried }) => ({ eventId, streamSeq, carried })),
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
