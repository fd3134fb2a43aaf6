// A batch's submissions applied to patients under the merge rule (shared/db/patient-merge.ts):
// per field the later submission wins, except that a submission contradicting the patient's
// identity is recorded as a conflict and merges nothing.
import type { TransactionSql } from "postgres";
import { patientState } from "../../shared/audit/entities.ts";
import type { Keys } from "../../shared/crypto/keys.ts";
import {
  identityConflicts,
  MERGED_FIELDS,
  mergeSubmission,
  type PatientState,
  type PatientValues,
} from "../../shared/db/patient-merge.ts";
import {
  insertConflicts,
  insertPatients,
  type LockedPatient,
  lockPatientsByEmail,
  type NewConflict,
  writePatients,
} from "../../shared/db/patients.ts";
import { patientField } from "../../shared/patient-fields.ts";
import type { PatientEffect } from "./audit.ts";
import type { DecodedEvent } from "./decode.ts";

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A date Postgres will accept, or null: a bad date must not fail the whole batch. */
function validDate(value: string | undefined): string | null {
  if (!value || !ISO_DATE.test(value)) return null;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(value) ? value : null;
}

interface Submission {
  email: string | null;
  state: PatientState;
  /** Its source's client, named on a patient it creates (set once the batch's clients are read). */
  clientId?: string | null;
}

/** Each merged field and whether it is a date, looked up once (per event it was 4% of the projector's CPU). */
const MERGED = MERGED_FIELDS.map((name) => ({ name, date: patientField(name).type === "date" }));

function submission(e: DecodedEvent): Submission {
  const p = e.event.patient;
  const values: Record<string, unknown> = {};
  for (const f of MERGED) values[f.name] = f.date ? validDate(p[f.name] as string | undefined) : (p[f.name] ?? null);
  // Own keys, as Object.fromEntries makes them: an assignment to "__proto__" would set the prototype.
  const answers: Record<string, unknown> = {};
  for (const a of e.event.answers)
    if (a.label === "__proto__")
      Object.defineProperty(answers, a.label, { value: a.value, enumerable: true, writable: true, configurable: true });
    else answers[a.label] = a.value;
  return {
    email: p.email?.toLowerCase() ?? null,
    state: {
      values: values as PatientValues,
      answers,
      source: e.event.source,
      formId: e.event.formId,
      lastEventId: e.eventId,
      submittedAt: new Date(e.event.submittedAt),
      // Values kept as sent (issue #14) fill empty fields only (mergeSubmission).
      keptAsSent: MERGED_FIELDS.filter((f) => e.event.provenance?.[f]?.keptAsSent),
    },
  };
}

/** Which patient a submission belongs to: its client's and its email's (deduplicated within a client). */
const patientKey = (clientId: string | null | undefined, email: string) => `${clientId ?? ""}\n${email}`;

/**
 * Splits the submissions of each patient key into rounds: round i holds every key's i-th
 * submission in submission order, so each patient's submissions are applied oldest first.
 * Round 0 has every key once, in key order.
 */
function rounds(rows: Submission[], keyOf: (s: Submission) => string): Submission[][] {
  const byEmail = new Map<string, Submission[]>();
  for (const row of rows) {
    const group = byEmail.get(keyOf(row));
    if (group) group.push(row);
    else byEmail.set(keyOf(row), [row]);
  }
  const out: Submission[][] = [];
  for (const email of [...byEmail.keys()].sort()) {
    const group = byEmail.get(email)!.sort((a, b) => a.state.submittedAt.getTime() - b.state.submittedAt.getTime());
    for (const [i, row] of group.entries()) {
      out[i] ??= [];
      out[i].push(row);
    }
  }
  return out;
}

export interface PatientsWritten {
  /** event id → patient id, for every event that names a patient (all of them). */
  patientIdByEvent: Map<string, string>;
  conflicts: number;
  /** event id → what it did to its patient, for the audit trail. */
  effects: Map<string, PatientEffect>;
}

/**
 * Writes the patients of a batch's admitted events. Every email's patient is locked before
 * any is changed, in one order all batches share, so concurrent batches wait for each other
 * instead of deadlocking: first the new emails are created from their first submission
 * (insert in email order, skipping existing ones; a concurrent insert of the same email is
 * waited for), then the existing ones are locked (`for update`, in email order). The rest
 * is decided here, on the locked rows, submission by submission, and written back at once.
 */
export async function writeBatchPatients(
  tx: TransactionSql,
  keys: Keys,
  events: DecodedEvent[],
  /** Each source's client (clientsOfSources), for every source of `events`. */
  clients: Map<string, string>,
): Promise<PatientsWritten> {
  const patientIdByEvent = new Map<string, string>();
  const all = events.map(submission);
  const withEmail = all.filter((s) => s.email);
  const anonymous = all.filter((s) => !s.email);

  // Each source's client (migration 011): the same email at two clients is two patients.
  const clientOf = (s: Submission) => clients.get(s.state.source) ?? null;
  for (const s of all) s.clientId = clientOf(s);
  const keyOf = (s: Submission) => patientKey(clientOf(s), s.email!);
  const byRound = rounds(withEmail, keyOf);
  const locked = new Map<string, LockedPatient>();
  const changed = new Set<LockedPatient>();
  // For the audit trail: each submission's effect, and each patient's latest state as hashed
  // (a snapshot; a patient's state is replaced by merging, never changed in place).
  const effects = new Map<string, PatientEffect>();
  const latest = new Map<LockedPatient, Record<string, unknown>>();
  const created = (patient: LockedPatient, eventId: string) => {
    const after = patientState(patient);
    latest.set(patient, after);
    effects.set(eventId, { patientId: patient.id, before: null, after, conflict: false });
  };
  let pending = byRound[0] ?? [];
  for (let attempt = 1; pending.length > 0; attempt++) {
    // Only a patient deleted between the insert and the lock sends a round back here.
    if (attempt > 3)
      throw Object.assign(new Error("patients kept vanishing while being locked"), { code: "patients_unstable" });
    const firstByEvent = new Map(pending.map((s) => [s.state.lastEventId, s]));
    for (const r of await insertPatients(tx, keys, pending, true)) {
      const first = firstByEvent.get(r.first_event_id)!;
      const patient = { id: r.id, email: r.email, eventsCount: 1, state: first.state };
      locked.set(keyOf(first), patient);
      created(patient, patient.state.lastEventId);
    }
    const existing = await lockPatientsByEmail(
      tx,
      keys,
      pending.filter((s) => !locked.has(keyOf(s))).map((s) => ({ email: s.email!, clientId: clientOf(s) })),
    );
    for (const p of existing) {
      locked.set(patientKey(p.clientId, p.email!), p);
      latest.set(p, patientState(p));
    }
    // An existing patient that was gone by the time it was locked (deleted meanwhile): create it again.
    pending = pending.filter((s) => !locked.has(keyOf(s)));
  }

  const conflicts: NewConflict[] = [];
  for (const [i, round] of byRound.entries()) {
    for (const s of round) {
      const patient = locked.get(keyOf(s))!;
      patientIdByEvent.set(s.state.lastEventId, patient.id);
      if (i === 0 && patient.state === s.state) continue; // created from this very submission
      patient.eventsCount += 1;
      changed.add(patient);
      const fields = identityConflicts(patient.state.values, s.state.values);
      if (fields.length > 0) conflicts.push({ patientId: patient.id, fields, submission: s.state });
      else patient.state = mergeSubmission(patient.state, s.state);
      const after = patientState(patient);
      const before = latest.get(patient)!;
      effects.set(s.state.lastEventId, { patientId: patient.id, before, after, conflict: fields.length > 0 });
      latest.set(patient, after);
    }
  }
  // Three independent statements, sent at once (pipelined on the transaction's connection).
  const [, , anonymousRows] = await Promise.all([
    writePatients(tx, keys, [...changed]),
    insertConflicts(tx, keys, conflicts),
    insertPatients(tx, keys, anonymous, false),
  ]);

  const byEvent = new Map(anonymous.map((s) => [s.state.lastEventId, s]));
  for (const r of anonymousRows) {
    patientIdByEvent.set(r.first_event_id, r.id);
    created({ id: r.id, email: null, eventsCount: 1, state: byEvent.get(r.first_event_id)!.state }, r.first_event_id);
  }
  return { patientIdByEvent, conflicts: conflicts.length, effects };
}
