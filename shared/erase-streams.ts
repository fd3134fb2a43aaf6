// Erasure's JetStream part (right to be forgotten): what the streams may still hold of a patient
// whose rows shared/db/erase.ts has just removed. One sweep for `hookline patients erase` and
// DELETE /api/v1/patients/:id, so both erase the same things, and one order for the whole
// erasure (erasePatientEverywhere: rows, then the cached copy, then the streams).
//
// A dead letter is read as the projector reads a message (its decodeMessage, with the caller's
// sources), so "names the patient" means what the projector would have taken from it.
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Sql } from "postgres";
import { decodeMessage } from "../services/projector/decode.ts";
import { normalizeForIndex } from "./crypto/blind-index.ts";
import type { Keys } from "./crypto/keys.ts";
import { type ErasedRows, erasePatient } from "./db/erase.ts";
import { clientsOfSources, type LockedPatient } from "./db/patients.ts";
import { readDeadLetters } from "./dead-letters.ts";
import { DLQ_STREAM, H, isNoMessage, STREAM } from "./nats.ts";
import type { SourceConfig } from "./sources/index.ts";

/** What a sweep removed (each message deleted with its bytes overwritten). */
interface StreamsErased {
  webhooks: number;
  deadLetters: number;
}

/** The patient as the sweep recognises it: its erased events, its emails and phones (E.164). */
interface StreamTarget {
  events: ErasedRows["events"];
  /**
   * Its email and phone, read before the erasure, and those its own erased events carried: a
   * patient merged into it, or a phone it had before, lives on only there (and in dead letters).
   * Not a held-back conflict's: that is another person's submission.
   */
  emails: ReadonlySet<string>;
  phones: ReadonlySet<string>;
  /**
   * Its client, and each source's (clientsOfSources): patients are one a client, so a dead letter
   * of another client's source that names the same email or phone is that client's patient's,
   * and stays (it stays replayable there).
   */
  clientId: string | null;
  sourceClients: ReadonlyMap<string, string>;
}

/** The target of a patient read (and opened) before its erasure, and the events erasePatient removed (with what each carried). */
function streamTarget(
  patient: Pick<LockedPatient, "email" | "state" | "clientId">,
  events: ErasedRows["events"],
  sourceClients: ReadonlyMap<string, string>,
): StreamTarget {
  const emails = new Set<string>();
  const phones = new Set<string>();
  const add = (email: unknown, phone: unknown) => {
    if (typeof email === "string" && email) emails.add(email.toLowerCase());
    // A number kept as sent (not valid) recognises nothing: "12" is no one's.
    const e164 = typeof phone === "string" && phone ? normalizeForIndex("phone", phone) : null;
    if (e164) phones.add(e164);
  };
  add(patient.email, patient.state.values.phone);
  for (const { carried } of events) if (carried) add(carried.email, carried.phone);
  return { events, emails, phones, clientId: patient.clientId ?? null, sourceClients };
}

/** What an erasure removed: the rows (counted), what the sweep did, and whether the cached copy went. */
export interface PatientErasure {
  rows: Omit<ErasedRows, "events">;
  /** The rows and the cached copy are gone whether or not the streams were swept. */
  streams: StreamSweep;
  /** Why the cached copy could not be dropped (it expires after its TTL); undefined when it was. */
  cacheError?: Error;
}

/**
 * Erases `patient` (read, and opened, before: its email and phone recognise its dead letters)
 * everywhere hookline keeps it, in one order for the CLI and the API: its rows with the audit
 * entry (erasePatient), then its cached copy (`dropCache`), then the streams (sweepStreams over
 * `connection`, its dead letters decoded with `sources`). Both come after the commit, so a
 * reader cannot cache the row again; the cache goes first because the sweep can take long (a
 * read per dead letter), and a cached copy would be served meanwhile. Neither failure skips the
 * other (a rerun finds no patient, so nothing would be left for it): both outcomes are
 * returned. Null when the patient was erased meanwhile (nothing done).
 */
export async function erasePatientEverywhere(
  sql: Sql,
  patient: Pick<LockedPatient, "id" | "email" | "state" | "clientId">,
  audit: Parameters<typeof erasePatient>[3],
  steps: {
    connection: () => Promise<NatsConnection>;
    sources: ReadonlyMap<string, SourceConfig>;
    dropCache: () => Promise<unknown>;
    /** Opens the erased events' canonical forms (erasePatient: the tombstones and the emails and phones they carried). */
    keys: Keys;
  },
): Promise<PatientErasure | null> {
  // Read before anything is erased: a rerun after the commit finds no patient, so a sweep that
  // could not read what it needs then would never happen.
  const sourceClients = await clientsOfSources(sql);
  const erased = await erasePatient(sql, steps.keys, patient.id, audit);
  if (!erased) return null;
  const { events, ...rows } = erased;
  const cacheError = await steps.dropCache().then(
    () => undefined,
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  );
  const streams = await sweepStreams(steps.connection, steps.sources, streamTarget(patient, events, sourceClients));
  return { rows, streams, cacheError };
}

/**
 * Removes from JetStream what it may still hold of the patient. WEBHOOKS is a work queue: a
 * message goes when the projector acknowledges it, after its rows committed, so its events'
 * messages are normally gone already; any still there (by stored sequence) are deleted. A dead
 * letter was never projected, so no row links it to the patient: those whose event is the
 * patient's, whose content names its email or phone (decoded as the projector would), or whose
 * raw bytes hold its email (a body no source of `sources` can decode, or one that a runtime
 * source or a field-mapping correction would have mapped differently) are deleted.
 */
async function eraseFromStreams(
  nc: NatsConnection,
  sources: ReadonlyMap<string, SourceConfig>,
  target: StreamTarget,
): Promise<StreamsErased> {
  const jsm = await jetstreamManager(nc);
  const erased: StreamsErased = { webhooks: 0, deadLetters: 0 };
  const { state } = await jsm.streams.info(STREAM);
  for (const { eventId, streamSeq } of target.events) {
    // The sequence recorded when the event was stored; a WEBHOOKS recreated since (`hookline
    // stream migrate`) numbers from 1 again, so the message there now may be another event's,
    // a webhook still to be projected: only the event's own message goes (past the stream's
    // end, nothing is there to look at: asking JetStream for it fails).
    if (streamSeq === null || state.messages === 0 || streamSeq < state.first_seq || streamSeq > state.last_seq)
      continue;
    const stored = await jsm.streams.getMessage(STREAM, { seq: streamSeq });
    if (!stored || stored.header.get(H.eventId) !== eventId) continue;
    // Already acknowledged (and so removed): "no message found". Any other failure (a timeout)
    // throws: the sweep must not say it swept what it could not look at.
    const deleted = await jsm.streams.deleteMessage(STREAM, streamSeq, true).catch((error) => {
      if (isNoMessage(error)) return false;
      throw error;
    });
    if (deleted) erased.webhooks++;
  }
  const eventIds = new Set(target.events.map((e) => e.eventId));
  for await (const { msg, letter } of readDeadLetters(nc)) {
    let names = letter.eventId !== null && eventIds.has(letter.eventId);
    // Another client's source: its letters name another client's patient, whoever they name
    // (but the patient's own events, which a merge may have brought from another client).
    if (!names && (target.sourceClients.get(letter.source) ?? null) !== target.clientId) continue;
    if (!names && target.emails.size > 0) {
      const text = Buffer.from(msg.data).toString("utf8");
      names = [...target.emails].some((email) => holdsEmail(text, email));
    }
    if (!names) {
      const decoded = decodeMessage(
        { data: msg.data, headers: msg.header, seq: msg.seq, subject: msg.subject },
        sources as Map<string, SourceConfig>,
      );
      if (decoded.ok) {
        const p = decoded.value.event.patient;
        names =
          (p.email !== undefined && target.emails.has(p.email.toLowerCase())) ||
          (p.phone !== undefined && target.phones.has(normalizeForIndex("phone", p.phone) ?? ""));
      }
    }
    if (!names) continue;
    // Replayed or expired since it was read: gone already, as the sweep wants it.
    const deleted = await jsm.streams.deleteMessage(DLQ_STREAM, msg.seq, true).catch((error) => {
      if (isNoMessage(error)) return false;
      throw error;
    });
    if (deleted) erased.deadLetters++;
  }
  return erased;
}

/**
 * Whether `text` holds `email` (lower-cased) as a whole address: "ada@example.com" is not in
 * "lada@example.com", whose dead letter is another patient's.
 */
export function holdsEmail(text: string, email: string): boolean {
  const lower = text.toLowerCase();
  const part = /[a-z0-9._%+-]/;
  for (let at = lower.indexOf(email); at >= 0; at = lower.indexOf(email, at + 1)) {
    const before = lower[at - 1];
    const after = lower[at + email.length];
    if ((before === undefined || !part.test(before)) && (after === undefined || !/[a-z0-9-]/.test(after))) return true;
  }
  return false;
}

/** A sweep's outcome as an API reports it: done, or why not (the rows are erased either way). */
type StreamSweep =
  | ({ swept: true } & StreamsErased)
  | { swept: false; reason: "nats_unavailable" | "sweep_failed"; message: string };

/**
 * eraseFromStreams over a connection that may not open (the dashboard's is opened on first use):
 * a failure is reported, never thrown, so the caller can say that the streams were not swept.
 */
async function sweepStreams(
  connection: () => Promise<NatsConnection>,
  sources: ReadonlyMap<string, SourceConfig>,
  target: StreamTarget,
): Promise<StreamSweep> {
  let nc: NatsConnection;
  try {
    nc = await connection();
  } catch (error) {
    return { swept: false, reason: "nats_unavailable", message: `NATS could not be reached: ${messageOf(error)}` };
  }
  try {
    return { swept: true, ...(await eraseFromStreams(nc, sources, target)) };
  } catch (error) {
    return {
      swept: false,
      reason: "sweep_failed",
      message: `JetStream did not complete the sweep: ${messageOf(error)}`,
    };
  }
}

// A NATS client error names servers and subjects, never message content.
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
