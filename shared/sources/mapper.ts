// Field mapper: turns an ordered list of answers into the canonical patient record.
// Explicit per-form mappings win; otherwise label synonyms (English and German).
import type { Answer, CanonicalField, FormMapping, PatientRecord, SourceConfig } from "./types.ts";

export interface MappedPatient {
  patient: PatientRecord;
  confidence: Partial<Record<CanonicalField, number>>;
}

/** Lower-case, strip accents and punctuation so "E-Mail-Adresse" and "e mail adresse" meet. */
export function normalizeLabel(label: string): string {
  return label
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/ß/g, "ss")
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}

const SYNONYMS: Record<CanonicalField, string[]> = {
  firstName: ["first name", "firstname", "first", "given name", "vorname"],
  lastName: ["last name", "lastname", "surname", "family name", "nachname", "familienname"],
  fullName: ["name", "full name", "fullname", "your name", "vollstandiger name", "ihr name"],
  email: ["email", "e mail", "email address", "e mail address", "e mail adresse", "emailadresse", "mail"],
  phone: ["phone", "phone number", "telephone", "mobile", "telefon", "telefonnummer", "handynummer", "handy", "mobilnummer"],
  dateOfBirth: ["date of birth", "dob", "birthday", "birth date", "birthdate", "geburtsdatum", "geburtstag"],
  gender: ["gender", "sex", "geschlecht", "anrede"],
  street: ["street", "address", "street address", "strasse", "adresse", "strasse und hausnummer"],
  postalCode: ["postal code", "zip", "zip code", "postcode", "plz", "postleitzahl"],
  city: ["city", "town", "ort", "stadt", "wohnort"],
  country: ["country", "land"],
  consent: ["consent", "privacy", "gdpr", "einwilligung", "datenschutz", "zustimmung"],
};

const LABEL_INDEX = new Map<string, CanonicalField>();
for (const [field, labels] of Object.entries(SYNONYMS) as [CanonicalField, string[]][]) {
  for (const label of labels) LABEL_INDEX.set(label, field);
}

function asText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.map(asText).filter(Boolean).join(", ") || undefined;
  const text = String(value).trim();
  return text === "" ? undefined : text;
}

function explicitField(answer: Answer, mapping: FormMapping | undefined): CanonicalField | undefined {
  if (!mapping) return undefined;
  return (answer.fieldId && mapping.fields[answer.fieldId]) || mapping.fields[answer.label];
}

export function mapAnswers(answers: Answer[], source: Pick<SourceConfig, "forms">, formId: string | null): MappedPatient {
  const mapping = formId ? source.forms[formId] : undefined;
  const patient: PatientRecord = {};
  const confidence: MappedPatient["confidence"] = {};
  for (const answer of answers) {
    const explicit = explicitField(answer, mapping);
    const field = explicit ?? LABEL_INDEX.get(normalizeLabel(answer.label));
    if (!field || patient[field] !== undefined) continue;
    const text = asText(answer.value);
    if (text === undefined) continue;
    if (field === "consent") patient.consent = /^(true|yes|ja|1|on|accepted)$/i.test(text);
    else if (field === "email") patient.email = text.toLowerCase();
    else patient[field] = text;
    confidence[field] = explicit ? 1 : 0.9;
  }
  if (!patient.fullName && (patient.firstName || patient.lastName)) {
    patient.fullName = [patient.firstName, patient.lastName].filter(Boolean).join(" ");
  }
  return { patient, confidence };
}
