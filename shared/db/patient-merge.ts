// The rule that turns submissions into one patient record, shared by the projector (every
// submission) and the dashboard (accepting a conflict). Pure: no I/O.
//
// - Per field, the later submission wins: a submission newer than what is stored replaces
//   each value it carries; an older one only fills values the patient lacks.
// - Unless it contradicts who the patient is: when a submission's first name, last name or
//   date of birth differs from the stored one (ignoring case, accents, spaces and
//   punctuation; a missing value on either side is no contradiction), none of its values
//   are merged and it becomes a conflict for a person to accept or dismiss. An email typed
//   into a public form proves nothing, so it must not let anyone rewrite someone's record.
// - Nor when it leaves the patient's identity unconfirmed (carries none of the name or
//   date-of-birth values the patient has) and would replace a stored value: leaving the
//   name out must not be a way around the rule. It may still fill values the patient lacks.
import { type PatientValues as AllPatientValues, PATIENT_FIELDS } from "../patient-fields.ts";

type Field = (typeof PATIENT_FIELDS)[number];
export type MergedField = Extract<Field, { merge: "later-wins" }>["name"];
export type IdentityField = Extract<Field, { identity: true }>["name"];

/** Every canonical field but the key (email): the ones a submission can change. */
export const MERGED_FIELDS = PATIENT_FIELDS.filter(
  (f): f is Extract<Field, { merge: "later-wins" }> => f.merge === "later-wins",
).map((f) => f.name);

/** The fields that say who the patient is (fullName is derived from first and last name). */
const IDENTITY_FIELDS = PATIENT_FIELDS.filter((f): f is Extract<Field, { identity: true }> => f.identity).map(
  (f) => f.name,
);

export type PatientValues = Pick<AllPatientValues, MergedField>;

/** What a patient record holds, as far as merging is concerned (also what one submission says). */
export interface PatientState {
  values: PatientValues;
  /** Form answers, label → value. */
  answers: Record<string, unknown>;
  source: string;
  formId: string | null;
  /** The newest submission merged (the submission's own id when this is one). */
  lastEventId: string;
  submittedAt: Date;
  /**
   * The patient's manual edits (PATCH /api/v1/patients/:id, migration 012): field → when. A
   * submission older than an edit does not overwrite that field. Absent on a submission.
   */
  manualEdits?: Partial<Record<MergedField, { at: string }>>;
  /**
   * A submission's fields whose value failed validation and was kept as sent by the mapper
   * (issue #14: "12" under "Telefon"): they fill an empty field, never replace a stored value.
   * Absent on a stored patient.
   */
  keptAsSent?: readonly MergedField[];
}

/** Case, accents (é → e), spaces and punctuation do not make two names differ; ß reads as ss. */
export function normalizeIdentity(value: string): string {
  return value
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/ß/g, "ss")
    .replace(/[\s\p{P}]/gu, "");
}

/**
 * The identity fields that stop `incoming` from being merged into `current` (empty: merge).
 * - Fields on which it contradicts the patient (both have a value and they differ).
 * - Otherwise, when it confirms none of the patient's identity values (it carries none of
 *   them) yet would replace a stored value (phone, address, ...): the identity fields the
 *   patient has, which it left unconfirmed. Filling a value the patient lacks needs no proof.
 */
export function identityConflicts(current: PatientValues, incoming: PatientValues): IdentityField[] {
  const differing = IDENTITY_FIELDS.filter((f) => {
    const a = current[f];
    const b = incoming[f];
    return a !== null && b !== null && normalizeIdentity(a) !== normalizeIdentity(b);
  });
  if (differing.length > 0) return differing;
  const known = IDENTITY_FIELDS.filter((f) => current[f] !== null);
  const confirmed = known.some((f) => incoming[f] !== null);
  if (known.length === 0 || confirmed) return [];
  const replaces = MERGED_FIELDS.some((f) => {
    const a = current[f];
    const b = incoming[f];
    return a !== null && b !== null && a !== b;
  });
  return replaces ? known : [];
}

/** `current` with `submission` merged in: per field, the later submission wins. */
export function mergeSubmission(current: PatientState, submission: PatientState): PatientState {
  const newer = submission.submittedAt.getTime() >= current.submittedAt.getTime();
  const [winner, loser] = newer ? [submission, current] : [current, submission];
  const values = {} as Record<MergedField, string | boolean | null>;
  for (const f of MERGED_FIELDS) values[f] = winner.values[f] ?? loser.values[f];
  for (const f of submission.keptAsSent ?? []) if (current.values[f] != null) values[f] = current.values[f];
  // A manual edit is kept against any submission made before it.
  for (const [f, edit] of Object.entries(current.manualEdits ?? {}) as [MergedField, { at: string }][])
    if (Date.parse(edit.at) > submission.submittedAt.getTime()) values[f] = current.values[f];
  return {
    values: values as PatientValues,
    answers: { ...loser.answers, ...winner.answers },
    source: winner.source,
    formId: winner.formId,
    lastEventId: winner.lastEventId,
    submittedAt: winner.submittedAt,
    ...(current.manualEdits ? { manualEdits: current.manualEdits } : {}),
  };
}
