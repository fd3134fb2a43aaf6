// Patient values typed by hand (POST /api/v1/patients, PATCH /api/v1/patients/:id), checked
// the way a webhook's answers are: each value goes through the field mapper (shared/sources/
// mapper.ts) under an explicit mapping to its own field, so the same normalizers accept it
// (an email lower-cased, a phone in E.164, a date as yyyy-mm-dd, a gender from the closed set,
// a name cleaned) and the same name completion fills fullName. A value the mapper does not take
// is a 400 naming the field, never stored as typed.
import * as v from "valibot";
import { ROW_ID } from "../../shared/db/row-id.ts";
import {
  PATIENT_FIELDS,
  type PatientFieldSpec,
  type PatientRecord,
  type ValueKind,
} from "../../shared/patient-fields.ts";
import { mapAnswers } from "../../shared/sources/mapper.ts";
import { normalizeEmail, plausibleBirthDate } from "../../shared/sources/normalize.ts";
import type { CanonicalField, FormMapping } from "../../shared/sources/types.ts";

/** The longest value accepted for a field (the mapper's own bound on a value is similar). */
const MAX_CHARS = 500;

const fieldSchema = (f: (typeof PATIENT_FIELDS)[number]) =>
  f.type === "boolean" ? v.boolean() : v.pipe(v.string(), v.maxLength(MAX_CHARS), v.description(f.description));

/** The canonical fields, every one optional; unknown keys refused. */
type FieldEntries = Record<CanonicalField, v.OptionalSchema<v.GenericSchema, undefined>>;
const entries = Object.fromEntries(
  PATIENT_FIELDS.map((f) => [f.name, v.optional(fieldSchema(f))]),
) as unknown as FieldEntries;

export const NewPatientBody = v.strictObject({
  ...entries,
  clientId: v.optional(v.pipe(v.string(), v.regex(ROW_ID), v.description("the client (unscoped callers only)"))),
});

/** PATCH: a field set to null clears it. */
export const PatientPatchBody = v.strictObject(
  Object.fromEntries(
    PATIENT_FIELDS.map((f) => [f.name, v.optional(v.nullable(fieldSchema(f)))]),
  ) as unknown as FieldEntries,
);

// Every canonical field mapped to itself, for every form: the mapper's explicit mapping.
const SELF_MAPPING: Record<string, FormMapping> = {
  "*": { fields: Object.fromEntries(PATIENT_FIELDS.map((f) => [f.name, f.name])) as FormMapping["fields"] },
};

/**
 * The shape a stored value of each kind has (what the normalizers write). The mapper keeps an
 * explicitly mapped answer it cannot normalize as text, for a person to review; typed by hand,
 * such a value is refused instead.
 */
const SHAPES: Record<ValueKind, (value: unknown, f: PatientFieldSpec) => boolean> = {
  email: (x) => typeof x === "string" && normalizeEmail(x) === x,
  phone: (x) => typeof x === "string" && /^\+\d{6,15}$/.test(x),
  date: (x) => typeof x === "string" && /^\d{4}-\d{2}-\d{2}$/.test(x) && plausibleBirthDate(x),
  gender: (x, f) => typeof x === "string" && (f.values ?? []).includes(x),
  consent: (x) => typeof x === "boolean",
  name: (x) => typeof x === "string",
  text: (x) => typeof x === "string",
  street: (x) => typeof x === "string",
  postalCode: (x) => typeof x === "string" && /\d/.test(x),
  country: (x) => typeof x === "string",
};

export type CanonicalInput = { values: PatientRecord; invalid: string[] };

/**
 * The values as the mapper reads them, and the fields it refused. `derive` also fills what the
 * mapper derives (fullName from first and last name) when the input did not give it.
 */
export function canonicalInput(input: Record<string, unknown>, derive = true): CanonicalInput {
  const given = Object.entries(input).filter(([k, value]) => k !== "clientId" && value !== undefined && value !== null);
  const mapped = mapAnswers(
    given.map(([label, value]) => ({ label, value, fieldId: label })),
    { forms: SELF_MAPPING },
    null,
  );
  const values: PatientRecord = {};
  for (const f of PATIENT_FIELDS) {
    const value = mapped.patient[f.name as CanonicalField];
    if (value === undefined) continue;
    const explicit = mapped.provenance[f.name as CanonicalField]?.method === "explicit";
    if (!SHAPES[f.kind](value, f)) continue;
    if (explicit || (derive && !(f.name in input))) (values as Record<string, unknown>)[f.name] = value;
  }
  const invalid = given.map(([k]) => k).filter((k) => !(k in values));
  return { values, invalid };
}
