// The canonical patient fields, declared once. Everything that lists them is derived from
// this table: the TypeScript types, the sources file's mapping targets, the mapper's label
// synonyms and value normalizers, the projector's rows and "later wins" upsert, the
// dashboard's columns and JSON shape, the OpenAPI schema and the log redaction paths.
// Adding a field is one entry here plus a numbered migration adding its column
// (test/integration/patient-fields.test.ts checks that the two agree).

/**
 * How a raw answer becomes the field's value (see acceptCandidate in sources/mapper.ts):
 * `name` free text with a letter, cleaned like a name; `text` free text with a letter;
 * the others by their normalizer in sources/normalize.ts.
 */
export type ValueKind =
  | "name"
  | "text"
  | "email"
  | "phone"
  | "date"
  | "gender"
  | "street"
  | "postalCode"
  | "country"
  | "consent";

export interface PatientFieldSpec {
  /** The canonical name: API JSON key, mapping target in the sources file. */
  readonly name: string;
  /** Column in `patients`. */
  readonly column: string;
  /** Column type; also the JSON type (`date` is an ISO yyyy-mm-dd string). */
  readonly type: "text" | "date" | "boolean";
  readonly kind: ValueKind;
  /**
   * `key`: identifies the patient (upserts match on it, never overwritten);
   * `later-wins`: the later submission's value replaces the stored one when it has one.
   */
  readonly merge: "key" | "later-wins";
  /**
   * Identity fields: a submission whose value differs from the stored one is a conflict
   * for review, not an update (an unverified email must not take over someone's record).
   */
  readonly identity: boolean;
  /** Patient data: redacted from logs (and the candidates for encryption at rest). */
  readonly sensitive: boolean;
  /**
   * Stored sealed (shared/crypto/envelope.ts), never in clear: with the other encrypted fields
   * as one value in `fields_enc` (migration 018); rows from before it hold it alone in
   * `<column>_enc`. The list of fields encrypted at rest is configured here (with a migration
   * adding `<column>_enc`, which reading those rows expects). Names and city stay in clear on
   * purpose: the dashboard's name search (word prefixes, typos, word pairs: migrations 012, 017)
   * needs the words in an index to stay fast, which no encrypted form offers without leaking as
   * much; a name alone is also the least sensitive part of a record.
   */
  readonly encrypted: boolean;
  /** Exact lookups through a blind index in `<column>_bidx` (shared/crypto/blind-index.ts); encrypted fields only. */
  readonly blindIndex?: boolean;
  /** Allowed values, when the normalizer yields a closed set. */
  readonly values?: readonly string[];
  /** Question labels and refs that mean this field, in normalized form (see normalizeLabel): English and German. */
  readonly labels: readonly string[];
  readonly description: string;
}

export const PATIENT_FIELDS = [
  {
    name: "firstName",
    column: "first_name",
    type: "text",
    kind: "name",
    merge: "later-wins",
    identity: true,
    sensitive: true,
    encrypted: false,
    description: "Given name(s)",
    labels: [
      "first name",
      "firstname",
      "first",
      "given name",
      "given names",
      "forename",
      "fname",
      "prename",
      "vorname",
      "vornamen",
      "rufname",
    ],
  },
  {
    name: "lastName",
    column: "last_name",
    type: "text",
    kind: "name",
    merge: "later-wins",
    identity: true,
    sensitive: true,
    encrypted: false,
    description: "Family name",
    labels: [
      "last name",
      "lastname",
      "surname",
      "family name",
      "lname",
      "second name",
      "nachname",
      "familienname",
      "zuname",
    ],
  },
  {
    name: "fullName",
    column: "full_name",
    type: "text",
    kind: "name",
    merge: "later-wins",
    identity: false, // derived from first and last name, which are compared instead
    sensitive: true,
    encrypted: false,
    description: "The whole name as written, or first and last name joined",
    labels: [
      "name",
      "full name",
      "fullname",
      "your name",
      "first and last name",
      "first name and last name",
      "name and surname",
      "complete name",
      "patient name",
      "vollstandiger name",
      "ihr name",
      "vor und nachname",
      "vorname und nachname",
      "vorname nachname",
      "kompletter name",
      "patientenname",
    ],
  },
  {
    name: "email",
    column: "email",
    type: "text",
    kind: "email",
    merge: "key",
    identity: false, // the key itself: submissions with another email are another patient
    sensitive: true,
    encrypted: true,
    blindIndex: true,
    description: "Email address, lower-cased; identifies the patient",
    labels: [
      "email",
      "e mail",
      "email address",
      "e mail address",
      "e mail adresse",
      "emailadresse",
      "mail",
      "mail address",
      "mailadresse",
      "email adresse",
      "mail adresse",
      "emailaddress",
      "e mail adr",
    ],
  },
  {
    name: "phone",
    column: "phone",
    type: "text",
    kind: "phone",
    merge: "later-wins",
    identity: false,
    sensitive: true,
    encrypted: true,
    blindIndex: true,
    description: "Phone number in E.164",
    labels: [
      "phone",
      "phone number",
      "telephone",
      "telephone number",
      "mobile",
      "mobile phone",
      "mobile number",
      "cell",
      "cell phone",
      "cellphone",
      "tel",
      "telefon",
      "telefonnummer",
      "handynummer",
      "handy",
      "mobilnummer",
      "mobiltelefon",
      "mobil",
      "rufnummer",
      "festnetz",
      "kontaktnummer",
      "whatsapp",
      "phone mobile",
    ],
  },
  {
    name: "dateOfBirth",
    column: "date_of_birth",
    type: "date",
    kind: "date",
    merge: "later-wins",
    identity: true,
    sensitive: true,
    encrypted: true,
    description: "Date of birth (yyyy-mm-dd)",
    labels: [
      "date of birth",
      "dob",
      "birthday",
      "birth date",
      "birthdate",
      "born",
      "born on",
      "geburtsdatum",
      "geburtstag",
      "geboren",
      "geboren am",
      "geb datum",
      "geb",
      "when were you born",
      "wann sind sie geboren",
      "wann bist du geboren",
      "date de naissance",
    ],
  },
  {
    name: "gender",
    column: "gender",
    type: "text",
    kind: "gender",
    merge: "later-wins",
    identity: false,
    sensitive: true,
    encrypted: false,
    values: ["male", "female", "diverse"],
    description: "Gender as answered (salutations count)",
    labels: ["gender", "sex", "geschlecht", "anrede", "salutation", "title salutation"],
  },
  {
    name: "street",
    column: "street",
    type: "text",
    kind: "street",
    merge: "later-wins",
    identity: false,
    sensitive: true,
    encrypted: true,
    description: "Street and house number",
    labels: [
      "street",
      "address",
      "street address",
      "address line 1",
      "street and number",
      "street and house number",
      "street name and number",
      "home address",
      "strasse",
      "adresse",
      "anschrift",
      "strasse und hausnummer",
      "strasse hausnummer",
      "strasse und nr",
      "strasse nr",
      "wohnadresse",
      "strasse und hausnr",
    ],
  },
  {
    name: "postalCode",
    column: "postal_code",
    type: "text",
    kind: "postalCode",
    merge: "later-wins",
    identity: false,
    sensitive: true,
    encrypted: true,
    description: "Postal code",
    labels: [
      "postal code",
      "zip",
      "zip code",
      "zipcode",
      "postcode",
      "post code",
      "plz",
      "postleitzahl",
      "zip postal code",
    ],
  },
  {
    name: "city",
    column: "city",
    type: "text",
    kind: "name",
    merge: "later-wins",
    identity: false,
    sensitive: true,
    encrypted: false,
    description: "City or town",
    labels: ["city", "town", "ort", "stadt", "wohnort", "city town", "place of residence", "locality"],
  },
  {
    name: "country",
    column: "country",
    type: "text",
    kind: "country",
    merge: "later-wins",
    identity: false,
    sensitive: true,
    encrypted: false,
    description: "ISO 3166-1 alpha-2 code when recognised, else as written",
    labels: ["country", "land", "country of residence", "wohnland", "staat"],
  },
  {
    name: "consent",
    column: "consent",
    type: "boolean",
    kind: "consent",
    merge: "later-wins",
    identity: false,
    sensitive: true,
    encrypted: false,
    description: "Whether the privacy/consent question was accepted",
    labels: [
      "consent",
      "privacy",
      "privacy policy",
      "gdpr",
      "dsgvo",
      "terms",
      "terms and conditions",
      "einwilligung",
      "datenschutz",
      "datenschutzerklarung",
      "zustimmung",
      "einverstandniserklarung",
      "i agree",
      "agree",
      "einverstanden",
      "opt in",
      "data protection",
      "datenverarbeitung",
      "ich willige",
      "willige ein",
      "verarbeitung meiner daten",
      "ich stimme",
      "stimme zu",
      "i consent",
      "i accept",
    ],
  },
  {
    name: "preferredLanguage",
    column: "preferred_language",
    type: "text",
    kind: "text",
    merge: "later-wins",
    identity: false,
    sensitive: true,
    encrypted: false,
    description: "The language the patient prefers to be addressed in, as answered",
    labels: [
      "preferred language",
      "language",
      "language preference",
      "communication language",
      "spoken language",
      "sprache",
      "bevorzugte sprache",
      "muttersprache",
      "kommunikationssprache",
      "gewunschte sprache",
    ],
  },
] as const satisfies readonly PatientFieldSpec[];

type PatientField = (typeof PATIENT_FIELDS)[number];

/** The field's column in a select list: dates as yyyy-mm-dd text (a Date would shift by the client's time zone). */
export function selectColumn(f: Pick<PatientFieldSpec, "column" | "type">): string {
  return f.type === "date" ? `to_char(${f.column}, 'YYYY-MM-DD') as ${f.column}` : f.column;
}
export type CanonicalField = PatientField["name"];

type ValueOf<F extends PatientField> = F["type"] extends "boolean" ? boolean : string;

/** A patient as the mapper fills it: every canonical field optional. */
export type PatientRecord = { [F in PatientField as F["name"]]?: ValueOf<F> };

/** The same with every field present, null when unknown (API responses, database rows). */
export type PatientValues = { [F in PatientField as F["name"]]: ValueOf<F> | null };

export const CANONICAL_FIELDS = PATIENT_FIELDS.map((f) => f.name) as CanonicalField[];

const BY_NAME = new Map<string, PatientFieldSpec>(PATIENT_FIELDS.map((f) => [f.name, f]));

export function patientField(name: CanonicalField): PatientFieldSpec {
  return BY_NAME.get(name)!;
}

export const SENSITIVE_FIELDS = PATIENT_FIELDS.filter((f) => f.sensitive);

/** The fields stored sealed at rest (`encrypted` in the table). */
export const ENCRYPTED_FIELDS: readonly PatientFieldSpec[] = PATIENT_FIELDS.filter((f) => f.encrypted);
