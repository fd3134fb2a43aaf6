// Events of erased patients (migration 022). An erasure leaves a tombstone of the email's blind
// index at the patient's client; an event naming that email at that client and received before
// the erasure belongs to the erased patient and is dropped instead of creating it again (a
// webhook received after it is a new submission, and creates a new patient). The batch checks
// before writing and again at its end, in its transaction (project.ts): an erasure that commits
// while the batch runs, after the first check, is seen by the second, and the batch is written
// again without those events.
import type { TransactionSql } from "postgres";
import { lookupIndexes } from "../../shared/crypto/blind-index.ts";
import type { Keys } from "../../shared/crypto/keys.ts";
import { byteaColumn } from "../../shared/db/arrays.ts";
import type { DecodedEvent } from "./decode.ts";

/** An event's email under every blind-index key (rows not yet rebuilt under the current one keep an older key's). */
export interface EmailLookup {
  event: DecodedEvent;
  index: Buffer;
}

export interface Tombstone {
  client_key: string;
  email_bidx: Uint8Array;
  erased_at: Date;
}

/** The email lookups of the events that name an email. */
export function emailLookups(keys: Keys, events: readonly DecodedEvent[]): EmailLookup[] {
  return events.flatMap((event) => {
    const email = event.event.patient.email;
    return email ? lookupIndexes(keys.blindIndex, "email", email).map((index) => ({ event, index })) : [];
  });
}

/** The tombstones of these emails, at any client (one statement; none sent without an email). */
export async function readTombstones(tx: TransactionSql, lookups: readonly EmailLookup[]): Promise<Tombstone[]> {
  if (lookups.length === 0) return [];
  return tx<Tombstone[]>`
    select client_key::text, email_bidx, erased_at from patient_erasures
    where email_bidx = any(${byteaColumn(tx, lookups, (l) => l.index)})`;
}

/** The ids of the events received before their email was erased at their source's client. */
export function erasedAfterReceipt(
  tombstones: readonly Tombstone[],
  lookups: readonly EmailLookup[],
  /** Each source's client (clientsOfSources); a source absent has none (client key 0). */
  clients: ReadonlyMap<string, string>,
): Set<string> {
  const erased = new Set<string>();
  if (tombstones.length === 0) return erased;
  const key = (client: string, index: Uint8Array) => `${client}\n${Buffer.from(index).toString("hex")}`;
  const erasedAt = new Map(tombstones.map((t) => [key(t.client_key, t.email_bidx), t.erased_at.getTime()]));
  for (const { event, index } of lookups) {
    const at = erasedAt.get(key(clients.get(event.event.source) ?? "0", index));
    if (at !== undefined && at > event.receivedAt.getTime()) erased.add(event.eventId);
  }
  return erased;
}
