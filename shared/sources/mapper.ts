// Field mapper: an ordered list of answers → the canonical patient record.
//
// 1. Every answer proposes candidate fields with a score: an explicit per-form mapping
//    (1.0), a label/ref synonym (0.75-0.95), the provider's answer type (0.85), or,
//    when nothing else is known, the value's shape (email 0.6, phone 0.5, birth date 0.4).
// 2. Candidates are taken best first; a candidate wins if its value normalizes. Each answer
//    fills at most one field, each field is filled once. Questions about someone else
//    ("Emergency contact phone", "company.email") propose nothing, whatever their type.
// 3. Nothing a labelled question answered is dropped: a phone, date or postal code that fails
//    validation under its own label (a number the phone metadata does not know, "31.02.1990")
//    is kept as sent with a confidence below 0.5 and provenance.keptAsSent (KEPT_AS_SENT).
// 4. Names are completed: a full name is split when first/last are missing (the rule is
//    splitFullName's, names.ts), the German "Vorname" + "Name" pair reads "Name" as the
//    surname, fullName is built from parts.
// The score of the winning candidate becomes the field's confidence. The submission's own
// country answer, when recognised, is the region for phone numbers and address formats.
import { type CountryCode, isSupportedCountry } from "libphonenumber-js";
import { patientField } from "../patient-fields.ts";
import {
  type LabelReading,
  type LabelTarget,
  MAX_LABEL_CHARS,
  normalizeKey,
  normalizeLabel,
  readLabel,
} from "./labels.ts";
import { cleanName, type NameConvention, splitFullName } from "./names.ts";
import {
  boundedText,
  normalizeConsent,
  normalizeCountry,
  normalizeDate,
  normalizeEmail,
  normalizeGender,
  normalizePhone,
  normalizePostalCode,
  parsePhone,
  plausibleBirthDate,
  splitAddressLine,
  splitPostalCity,
} from "./normalize.ts";
import type {
  Answer,
  CanonicalField,
  DateOrder,
  FieldProvenance,
  FormMapping,
  MappingTarget,
  MatchMethod,
  PatientRecord,
  SourceConfig,
} from "./types.ts";

export interface MappedPatient {
  patient: PatientRecord;
  confidence: Partial<Record<CanonicalField, number>>;
  provenance: Partial<Record<CanonicalField, FieldProvenance>>;
}

/** What the mapper needs from a source: mappings, plus phone region and date order (defaults DE / DMY). */
export type MapperSource = Pick<SourceConfig, "forms"> & Partial<Pick<SourceConfig, "phoneRegion" | "dateOrder">>;

interface Candidate {
  index: number;
  target: LabelTarget;
  score: number;
  method: MatchMethod;
}

interface Context {
  region: CountryCode;
  /** ISO code of the submission's recognised country answer, for address formats. */
  country?: string;
  names: NameConvention;
  order: DateOrder;
  /** readLabel, remembered (the country pass, the name convention and the candidates read the same labels; so do later submissions). */
  read: (label: string, path?: readonly string[]) => LabelReading;
  patient: PatientRecord;
  confidence: Partial<Record<CanonicalField, number>>;
  provenance: Partial<Record<CanonicalField, FieldProvenance>>;
}

const round = (n: number) => Math.round(n * 100) / 100;

function set(
  ctx: Context,
  field: CanonicalField,
  value: string | boolean,
  score: number,
  label: string,
  method: MatchMethod,
  keptAsSent = false,
): void {
  (ctx.patient as Record<string, unknown>)[field] = value;
  ctx.confidence[field] = round(Math.max(0, Math.min(1, score)));
  ctx.provenance[field] = keptAsSent ? { label, method, keptAsSent: true } : { label, method };
}

/** Confidence of a value kept as sent, or of a phone number the metadata does not know: always "low". */
const KEPT_SCORE = 0.3;
const UNVERIFIED_PHONE_SCORE = 0.45;

const hasLetter = (text: string) => /\p{L}/u.test(text);

interface Mapping {
  /** Keys as written: field id, ref or label. */
  exact: Map<string, MappingTarget>;
  /** Keys normalized (see normalizeLabel), the first key of each normal form winning. */
  normalized: Map<string, MappingTarget>;
}

/**
 * Mapping for a form: the source-wide "*" entry overlaid with the form's own entry; keys
 * normalized once, not once an answer.
 */
function formMapping(source: MapperSource, formId: string | null): Mapping {
  const merged: FormMapping["fields"] = {
    ...source.forms["*"]?.fields,
    ...(formId ? source.forms[formId]?.fields : undefined),
  };
  const exact = new Map(Object.entries(merged));
  const normalized = new Map<string, MappingTarget>();
  for (const [key, field] of exact) {
    const normal = normalizeLabel(key);
    if (!normalized.has(normal)) normalized.set(normal, field);
  }
  return { exact, normalized };
}

function explicitField(answer: Answer, mapping: Mapping): MappingTarget | undefined {
  if (mapping.exact.size === 0) return undefined;
  for (const key of [answer.fieldId, answer.ref, answer.label]) {
    const hit = key !== undefined ? mapping.exact.get(key) : undefined;
    if (hit) return hit;
  }
  // Labels in a hand-written mapping rarely match character for character.
  return answer.label.length <= MAX_LABEL_CHARS ? mapping.normalized.get(normalizeLabel(answer.label)) : undefined;
}

/**
 * True when the ref reads like the label (it would only repeat the label's candidate).
 * Over-long ones match nothing anyway.
 */
function refRepeatsLabel(ref: string, label: string): boolean {
  return (
    ref.length > MAX_LABEL_CHARS || (label.length <= MAX_LABEL_CHARS && normalizeKey(ref) === normalizeLabel(label))
  );
}

const TYPE_HINTS: Record<string, CanonicalField> = {
  email: "email",
  phone_number: "phone",
  phone: "phone",
  tel: "phone",
};

function candidatesFor(answer: Answer, index: number, mapping: Mapping, ctx: Context): Candidate[] {
  if (answer.fieldType === "calculated") return [];
  const explicit = explicitField(answer, mapping);
  if (explicit === "ignore") return [];
  if (explicit) return [{ index, target: explicit, score: 1, method: "explicit" }];
  // About someone else, or delivery metadata: its type or shape says nothing about the patient.
  const reading = ctx.read(answer.label, answer.path);
  if (reading.foreign || (answer.ref !== undefined && ctx.read(answer.ref).foreign)) return [];
  if (reading.ignored) return [];
  const out: Candidate[] = [];
  const byLabel = reading.match;
  if (byLabel) out.push({ index, target: byLabel.field, score: byLabel.score, method: byLabel.method });
  if (answer.ref && !refRepeatsLabel(answer.ref, answer.label)) {
    const byRef = ctx.read(answer.ref).match;
    // A ref is chosen by the form builder, not shown to the patient: slightly less telling.
    if (byRef) out.push({ index, target: byRef.field, score: byRef.score - 0.05, method: byRef.method });
  }
  const hint = answer.fieldType ? TYPE_HINTS[answer.fieldType] : undefined;
  if (hint) out.push({ index, target: hint, score: 0.85, method: "field-type" });
  if (out.length === 0 && typeof answer.value === "string") {
    // Most specific shape first: "21.09.1987" is a date even though it also dials as a number.
    // A time of day makes it a timestamp (when something happened), not a birth date.
    const date = /\d[T ]\d{1,2}:\d{2}/.test(answer.value) ? undefined : normalizeDate(answer.value, ctx.order);
    if (normalizeEmail(answer.value)) out.push({ index, target: "email", score: 0.6, method: "value-shape" });
    else if (date) {
      if (plausibleBirthDate(date)) out.push({ index, target: "dateOfBirth", score: 0.4, method: "value-shape" });
    } else if (normalizePhone(answer.value, ctx.region))
      out.push({ index, target: "phone", score: 0.5, method: "value-shape" });
  }
  // Hidden fields are pre-filled by whoever built the link, variables set by the form's
  // logic; a visible answer beats them.
  if (answer.fieldType === "hidden" || answer.fieldType === "variable") for (const c of out) c.score *= 0.8;
  return out;
}

/** Tries to fill `target` from the answer; false when the value does not fit (or the field is taken). */
function apply(ctx: Context, c: Candidate, answer: Answer): boolean {
  const { patient } = ctx;
  const label = answer.label;
  const value = answer.value;
  const target = c.target;
  if (target === "postalCity") {
    const split = splitPostalCity(value);
    if (!split || patient.postalCode !== undefined) return false;
    set(ctx, "postalCode", split.postalCode, c.score, label, c.method);
    if (split.city && patient.city === undefined) set(ctx, "city", split.city, c.score, label, c.method);
    return true;
  }
  if (patient[target] !== undefined) return false;
  switch (patientField(target).kind) {
    case "email": {
      const email = normalizeEmail(value);
      if (!email) return false;
      set(ctx, target, email, c.score, label, c.method);
      return true;
    }
    case "phone": {
      const phone = parsePhone(value, ctx.region);
      if (!phone) return false;
      // A possible number the metadata does not list: kept, but low confidence for review.
      if (!phone.valid && c.method === "value-shape") return false;
      if (phone.valid) set(ctx, target, phone.e164, c.score, label, c.method);
      else set(ctx, target, phone.e164, Math.min(c.score, UNVERIFIED_PHONE_SCORE), label, c.method, true);
      return true;
    }
    case "date": {
      const date = normalizeDate(value, ctx.order);
      if (!date) return false;
      set(ctx, target, date, c.score, label, c.method);
      return true;
    }
    case "gender": {
      const gender = normalizeGender(value);
      if (!gender) return false;
      set(ctx, target, gender, c.score, label, c.method);
      return true;
    }
    case "consent": {
      const consent = normalizeConsent(value);
      if (!consent) return false;
      set(ctx, target, consent.value, consent.certain ? c.score : c.score * 0.7, label, c.method);
      return true;
    }
    case "country": {
      const country = normalizeCountry(value);
      if (!country) return false;
      set(ctx, target, country.value, country.recognised ? c.score : c.score * 0.8, label, c.method);
      return true;
    }
    case "postalCode": {
      // "PLZ: 10115 Berlin" happens: take the code, and the city if nobody else gave it.
      const code = normalizePostalCode(value, ctx.region);
      if (code && /^[\dA-Z -]+$/.test(code) && !/^\d{4,5} [A-Z]/.test(code)) {
        set(ctx, target, code, c.score, label, c.method);
        return true;
      }
      const split = splitPostalCity(value);
      if (!split) return false;
      set(ctx, target, split.postalCode, c.score, label, c.method);
      if (split.city && patient.city === undefined) set(ctx, "city", split.city, c.score * 0.8, label, "derived");
      return true;
    }
    case "street": {
      const text = boundedText(value);
      if (!text || !hasLetter(text)) return false;
      const parts = splitAddressLine(text, ctx.country);
      if (parts) {
        set(ctx, target, parts.street, c.score, label, c.method);
        if (patient.postalCode === undefined) set(ctx, "postalCode", parts.postalCode, c.score * 0.8, label, "derived");
        if (patient.city === undefined) set(ctx, "city", parts.city, c.score * 0.8, label, "derived");
      } else set(ctx, target, text, c.score, label, c.method);
      return true;
    }
    case "name": {
      // firstName, lastName, fullName, city: free text with at least one letter, no longer
      // than a name or city can be (MAX_VALUE_CHARS). A list of parts (FHIR's given names)
      // is one name.
      const text = boundedText(
        Array.isArray(value) && value.every((v) => typeof v === "string") ? value.join(" ") : value,
      );
      if (!text || !hasLetter(text) || normalizeEmail(text)) return false;
      set(ctx, target, cleanName(text), c.score, label, c.method);
      return true;
    }
    case "text": {
      const text = boundedText(value);
      if (!text || !hasLetter(text)) return false;
      set(ctx, target, text, c.score, label, c.method);
      return true;
    }
  }
}

/** Completes first/last/full name from whichever of them the form asked for. */
function completeNames(ctx: Context): void {
  const { patient, confidence, provenance } = ctx;
  if (patient.fullName !== undefined && provenance.fullName?.method !== "derived") {
    const full = patient.fullName;
    const fullConf = confidence.fullName ?? 0.5;
    const fullLabel = provenance.fullName?.label ?? "";
    if (patient.firstName !== undefined && patient.lastName === undefined) {
      const first = patient.firstName;
      if (full.toLowerCase().startsWith(`${first.toLowerCase()} `)) {
        set(ctx, "lastName", full.slice(first.length + 1).trim(), fullConf * 0.9, fullLabel, "derived");
      } else {
        // German forms ask "Vorname" and "Name": the latter then means the surname.
        set(ctx, "lastName", full, fullConf * 0.9, fullLabel, "derived");
        set(
          ctx,
          "fullName",
          `${first} ${full}`,
          Math.min(confidence.firstName ?? 1, fullConf * 0.9),
          fullLabel,
          "derived",
        );
      }
    } else if (patient.firstName === undefined) {
      const split = splitFullName(full, ctx.names);
      // Three words split by position alone are a guess: shown with less confidence.
      const splitConf = fullConf * (split.ambiguous ? 0.7 : 0.8);
      if (split.firstName && patient.lastName === undefined) {
        set(ctx, "firstName", split.firstName, splitConf, fullLabel, "derived");
        if (split.lastName) set(ctx, "lastName", split.lastName, splitConf, fullLabel, "derived");
        // "Müller, Anna" is a way of writing, not the name: store it in reading order.
        if (split.lastName && full.includes(",")) patient.fullName = `${split.firstName} ${split.lastName}`;
      } else if (patient.lastName !== undefined && full.toLowerCase().endsWith(` ${patient.lastName.toLowerCase()}`)) {
        set(
          ctx,
          "firstName",
          full.slice(0, full.length - patient.lastName.length).trim(),
          fullConf * 0.8,
          fullLabel,
          "derived",
        );
      }
      if (split.salutation && patient.gender === undefined) {
        const gender = normalizeGender(split.salutation);
        if (gender) set(ctx, "gender", gender, fullConf * 0.6, fullLabel, "derived");
      }
    }
  }
  if (patient.fullName === undefined && (patient.firstName !== undefined || patient.lastName !== undefined)) {
    const parts = [patient.firstName, patient.lastName].filter((p): p is string => p !== undefined);
    const conf = Math.min(
      ...(["firstName", "lastName"] as const).filter((f) => patient[f] !== undefined).map((f) => confidence[f] ?? 1),
    );
    set(
      ctx,
      "fullName",
      parts.join(" "),
      conf,
      provenance.firstName?.label ?? provenance.lastName?.label ?? "",
      "derived",
    );
  }
}

// Words in labels that mark a form written in Spanish (two surnames: splitFullName rule 5).
const SPANISH_MARKERS = new Set(["apellido", "apellidos", "nombre", "correo", "nacimiento", "direccion", "movil"]);

function nameConvention(answers: Answer[], read: Context["read"]): NameConvention {
  for (const answer of answers)
    if (read(answer.label, answer.path).tokens.some((t) => SPANISH_MARKERS.has(t))) return "es";
  return "default";
}

/** The recognised country the submission names (its own answer), if any. */
function answeredCountry(answers: Answer[], mapping: Mapping, read: Context["read"]): string | undefined {
  for (const answer of answers) {
    const explicit = explicitField(answer, mapping);
    const target =
      explicit ??
      read(answer.label, answer.path).match?.field ??
      (answer.ref ? read(answer.ref).match?.field : undefined);
    if (target !== "country") continue;
    const country = normalizeCountry(answer.value);
    if (country?.recognised) return country.value;
  }
  return undefined;
}

// Kinds whose value is kept as sent when it fails validation under its own label. Not the
// email (it is the patient's key: "n/a" must not merge strangers), not consent or gender (a
// closed set the record cannot hold free text in); names, streets and text take any text.
const KEPT_KINDS = new Set(["phone", "date", "postalCode"]);

/**
 * Answers a label (or an explicit mapping) named a field for, whose value failed validation
 * and whose field nothing else filled: kept as sent, low confidence, provenance.keptAsSent.
 */
function keepUnvalidated(ctx: Context, candidates: Candidate[], answers: Answer[], used: Set<number>): void {
  for (const c of candidates) {
    if (used.has(c.index) || c.target === "postalCity" || c.method === "value-shape") continue;
    if (ctx.patient[c.target] !== undefined) continue;
    const kind = patientField(c.target).kind;
    if (!KEPT_KINDS.has(kind) && c.method !== "explicit") continue;
    if (kind === "email" || kind === "consent") continue;
    const text = boundedText(answers[c.index]!.value);
    if (!text) continue;
    set(ctx, c.target, text, Math.min(c.score, KEPT_SCORE), answers[c.index]!.label, c.method, true);
    used.add(c.index);
  }
}

/**
 * readLabel is pure, and a form sends the same labels with every submission: remembered across
 * submissions (reading a label anew was 5% of the projector's CPU, issue #13 item 4). Bounded:
 * labels come from senders, so the memory is emptied when it holds READINGS_KEPT of them. The
 * readings are shared and never changed by their readers.
 */
const READINGS_KEPT = 20_000;
const readings = new Map<string, LabelReading>();

function rememberedReading(label: string, path?: readonly string[]): LabelReading {
  // A nested answer's label is its path joined by dots; the path itself is part of the key,
  // since two paths can join to the same label.
  const key = path ? `${label}\u0000${path.join("\u0001")}` : label;
  let r = readings.get(key);
  if (!r) {
    r = readLabel(label, path);
    // Frozen: one reader changing a shared reading would change every later submission's.
    Object.freeze(r.tokens);
    if (r.match) Object.freeze(r.match);
    Object.freeze(r);
    if (readings.size >= READINGS_KEPT) readings.clear();
    readings.set(key, r);
  }
  return r;
}

export function mapAnswers(answers: Answer[], source: MapperSource, formId: string | null): MappedPatient {
  const mapping = formMapping(source, formId);
  const read = rememberedReading;
  const country = answeredCountry(answers, mapping, read);
  const ctx: Context = {
    region: country && isSupportedCountry(country) ? country : (source.phoneRegion ?? "DE"),
    country,
    names: nameConvention(answers, read),
    order: source.dateOrder ?? "DMY",
    read,
    patient: {},
    confidence: {},
    provenance: {},
  };
  const candidates = answers.flatMap((answer, index) => candidatesFor(answer, index, mapping, ctx));
  // Best score first; ties go to the earlier question (forms ask the main thing first).
  candidates.sort((a, b) => b.score - a.score || a.index - b.index);
  const used = new Set<number>();
  for (const candidate of candidates) {
    if (used.has(candidate.index)) continue;
    if (apply(ctx, candidate, answers[candidate.index]!)) used.add(candidate.index);
  }
  keepUnvalidated(ctx, candidates, answers, used);
  completeNames(ctx);
  return { patient: ctx.patient, confidence: ctx.confidence, provenance: ctx.provenance };
}
