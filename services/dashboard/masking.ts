// What a viewer sees of a patient in lists: contact and identifying details masked, names and
// place shown so that a viewer can still tell patients apart and find the one to open. Opening
// one (GET /api/v1/patients/:id) shows it whole, and that read is audited. Editors and admins
// see lists whole. The rule of a field follows from the field table (shared/patient-fields.ts):
// its `sensitive` flag and its value `kind`; a new kind needs a decision here to compile.

import type { Role } from "../../shared/auth/roles.ts";
import type { PatientFieldSpec, ValueKind } from "../../shared/patient-fields.ts";
import { PATIENT_FIELDS } from "../../shared/patient-fields.ts";

export const MASK = "***";

type Masker = (value: unknown) => unknown;

// A value whose shape a rule does not expect is masked whole too, never passed through.
const whole: Masker = () => MASK;
const shown: Masker = (value) => value;

const MASKERS: Record<ValueKind, Masker> = {
  // a***@example.com: the domain says little about a person, the local part is the identifier.
  email: (value) => {
    const s = typeof value === "string" ? value : "";
    const at = s.lastIndexOf("@");
    return at > 0 ? `${s[0]}${MASK}${s.slice(at)}` : MASK;
  },
  // The last two digits, enough to tell two numbers of one person apart.
  phone: (value) => {
    const digits = typeof value === "string" ? value.replace(/\D/g, "") : "";
    return digits.length >= 4 ? `${MASK}${digits.slice(-2)}` : MASK;
  },
  // The year only (an age bracket), from the ISO date the API serves.
  date: (value) => (typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value.slice(0, 4) : MASK),
  street: whole,
  postalCode: whole,
  // Free text ("text" kind) can hold anything a patient typed.
  text: whole,
  name: shown,
  gender: shown,
  country: shown,
  consent: shown,
};

/** One canonical field's value as a viewer sees it in a list; null stays null. */
export function maskValue(field: Pick<PatientFieldSpec, "kind" | "sensitive">, value: unknown): unknown {
  if (value === null || value === undefined || !field.sensitive) return value;
  return MASKERS[field.kind](value);
}

/** Answers (label → value) with every value masked: free text under any label. */
export function maskAnswers(answers: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!answers) return answers;
  return Object.fromEntries(Object.entries(answers).map(([label, value]) => [label, value == null ? value : MASK]));
}

/**
 * A copy of `record` (a patient, or a conflict's submission) with its canonical fields masked
 * by the table and its answers masked whole; other keys (ids, source, counts) as they are.
 */
export function maskPatientValues<T extends object>(record: T): T {
  const out = { ...record } as Record<string, unknown>;
  for (const f of PATIENT_FIELDS) if (f.name in out) out[f.name] = maskValue(f, out[f.name]);
  if ("answers" in out) out.answers = maskAnswers(out.answers as Record<string, unknown> | undefined);
  return out as T;
}

/** Rows of a patient list (patients, conflicts' submissions) as `role` sees them: masked for viewers. */
export function listedFor<T extends object>(role: Role, rows: T[]): T[] {
  return role === "viewer" ? rows.map(maskPatientValues) : rows;
}

/** A form submission in a viewer's list: its answers, or the one answer asked for, masked. */
export function maskSubmission<T extends object>(row: T): T {
  const out = { ...row } as Record<string, unknown>;
  if ("answers" in out) out.answers = maskAnswers(out.answers as Record<string, unknown> | undefined);
  if ("value" in out && out.value != null) out.value = MASK;
  return out as T;
}
