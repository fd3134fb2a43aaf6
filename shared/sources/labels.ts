// Label heuristics: which canonical field does a question label (or a field ref such as
// "first_name") mean? English and German synonyms, compared after normalization, first
// exactly, then with filler words removed ("What is your email?" → "email"), then as a
// token sequence inside a longer label, then as the tail of a German compound word.
import { type CanonicalField, PATIENT_FIELDS } from "../patient-fields.ts";

/** Lower-case, strip accents and punctuation so "E-Mail-Adresse" and "e mail adresse" meet. */
export function normalizeLabel(label: string): string {
  return (
    label
      .replace(/ß/g, "ss")
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      // camelCase / snake_case refs ("firstName", "first_name") read as words.
      .replace(/[^a-z0-9]+/g, " ")
      .trim()
  );
}

/** Like normalizeLabel, but splits camelCase first (for refs/variables, not for prose). */
export function normalizeKey(key: string): string {
  return normalizeLabel(key.replace(/([a-z])([A-Z])/g, "$1 $2"));
}

// "Pseudo" fields a single answer can fill together.
export type LabelTarget = CanonicalField | "postalCity";

/**
 * Synonyms, already in normalized form (see normalizeLabel): each field's own
 * (shared/patient-fields.ts), plus the pseudo fields'.
 */
const SYNONYMS: Record<LabelTarget, readonly string[]> = {
  ...(Object.fromEntries(PATIENT_FIELDS.map((f) => [f.name, f.labels])) as Record<string, readonly string[]> as Record<
    CanonicalField,
    readonly string[]
  >),
  postalCity: [
    "plz ort",
    "plz und ort",
    "plz wohnort",
    "postleitzahl und ort",
    "postleitzahl ort",
    "zip code and city",
    "zip and city",
    "postal code and city",
    "postcode and city",
    "zip city",
    "city and zip code",
  ],
};

/** Labels that look like a field but are not about the patient ("Country code", "Name of your doctor"). */
const IGNORED_LABELS = new Set([
  "country code",
  "vorwahl",
  "landervorwahl",
  "ip",
  "ip address",
  "user agent",
  "timestamp",
  "zeitstempel",
  "submitted at",
  "created at",
  "form name",
  "formular",
  "utm source",
  "utm medium",
  "utm campaign",
  "referrer",
  "page url",
  "url",
]);

/** Tokens that, anywhere in a longer label, mean it is about someone or something else. */
const FOREIGN_TOKENS = new Set([
  "doctor",
  "physician",
  "arzt",
  "arztes",
  "hausarzt",
  "hausarztes",
  "arztin",
  "praxis",
  "clinic",
  "klinik",
  "insurance",
  "versicherung",
  "krankenkasse",
  "kasse",
  "emergency",
  "notfall",
  "notfallkontakt",
  "partner",
  "company",
  "firma",
  "unternehmen",
  "employer",
  "arbeitgeber",
  "referrer",
  "referral",
  "uberweiser",
  "parent",
  "eltern",
  "mutter",
  "vater",
  "mother",
  "father",
  "guardian",
  "child",
  "kind",
  "kindes",
  "pet",
  "haustier",
  "medication",
  "medikament",
  "medikamente",
  "code",
  "username",
  "benutzername",
  "confirm",
  "confirmation",
  "wiederholen",
  "bestatigen",
  "repeat",
]);

// Filler words dropped before the second exact comparison.
const FILLER = new Set([
  "your",
  "you",
  "yours",
  "the",
  "a",
  "what",
  "whats",
  "s",
  "is",
  "are",
  "please",
  "enter",
  "type",
  "here",
  "provide",
  "tell",
  "us",
  "my",
  "and",
  "or",
  "optional",
  "required",
  "ihre",
  "ihr",
  "ihren",
  "ihrer",
  "deine",
  "dein",
  "deinen",
  "bitte",
  "geben",
  "gib",
  "sie",
  "an",
  "wie",
  "lautet",
  "ist",
  "welche",
  "welches",
  "welcher",
  "mein",
  "meine",
  "pflichtfeld",
  "eingeben",
  "angeben",
  "hier",
  "uns",
  "mitteilen",
  "current",
  "aktuelle",
  "aktuell",
  "patient",
  "patientin",
  "patients",
  "des",
  "der",
  "die",
  "das",
  "wir",
  "we",
  "need",
  "brauchen",
  "benotigen",
  "can",
  "reach",
  "erreichen",
  "under",
  "unter",
  "which",
  "at",
  "on",
  "to",
  "of",
  "for",
]);

function dropFiller(normalized: string): string {
  return normalized
    .split(" ")
    .filter((t) => t && !FILLER.has(t))
    .join(" ");
}

// Too short or too common to be trusted inside a longer label ("Is this your first visit?").
const EXACT_ONLY = new Set([
  "first",
  "mail",
  "tel",
  "cell",
  "born",
  "staat",
  "geb",
  "sex",
  "agree",
  "terms",
  "mobil",
  "handy",
  "zip",
  "town",
  "land",
]);

const EXACT = new Map<string, LabelTarget>();
const STRIPPED = new Map<string, LabelTarget>();
const PHRASES: { tokens: string[]; field: LabelTarget }[] = [];
for (const [field, labels] of Object.entries(SYNONYMS) as [LabelTarget, readonly string[]][]) {
  for (const label of labels) {
    if (!EXACT.has(label)) EXACT.set(label, field);
    const stripped = dropFiller(label);
    if (stripped && !STRIPPED.has(stripped)) STRIPPED.set(stripped, field);
    if (!EXACT_ONLY.has(label)) PHRASES.push({ tokens: label.split(" "), field });
  }
}
// Longest phrases first so "email address" beats "address" and "first name" beats "name".
PHRASES.sort((a, b) => b.tokens.length - a.tokens.length || b.tokens.join(" ").length - a.tokens.join(" ").length);
// Phrases by their first token (each keeps its rank above): a label is scanned once,
// looking only at the phrases that can start at each token.
const PHRASES_BY_FIRST = new Map<string, { tokens: string[]; field: LabelTarget; rank: number }[]>();
PHRASES.forEach((phrase, rank) => {
  const list = PHRASES_BY_FIRST.get(phrase.tokens[0]!) ?? [];
  list.push({ ...phrase, rank });
  PHRASES_BY_FIRST.set(phrase.tokens[0]!, list);
});

/**
 * Longest label matched at all. Longer is prose (the longest consent texts used as a
 * checkbox label run to a few hundred characters), not a question naming a field; the
 * bound also keeps a hostile 1 MiB label from costing more than a look at its length.
 */
export const MAX_LABEL_CHARS = 2000;

// Single-word synonyms long enough to be recognised as the tail of a German compound
// ("Mobiltelefonnummer", "Kontakttelefon", "Patientenvorname").
const COMPOUND_TAILS = [...EXACT.entries()]
  .filter(([label]) => !label.includes(" ") && label.length >= 6 && !EXACT_ONLY.has(label))
  .sort((a, b) => b[0].length - a[0].length);

export interface LabelMatch {
  field: LabelTarget;
  method: "label" | "label-contains";
  score: number;
}

function startsAt(haystack: string[], i: number, needle: string[]): boolean {
  if (i + needle.length > haystack.length) return false;
  for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) return false;
  return true;
}

/** The best-ranked synonym phrase found anywhere in `tokens` (what trying PHRASES in order would find). */
function bestPhrase(tokens: string[]): { tokens: string[]; field: LabelTarget } | undefined {
  let best: { tokens: string[]; field: LabelTarget; rank: number } | undefined;
  tokens.forEach((token, i) => {
    for (const phrase of PHRASES_BY_FIRST.get(token) ?? []) {
      if ((!best || phrase.rank < best.rank) && startsAt(tokens, i, phrase.tokens)) best = phrase;
    }
  });
  return best;
}

/**
 * Best canonical field for a label or key, or undefined. Pure and linear in the label's length
 * (a few map look-ups a token).
 */
export function matchLabel(label: string): LabelMatch | undefined {
  if (label.length > MAX_LABEL_CHARS) return undefined;
  const normalized = normalizeKey(label);
  if (!normalized || IGNORED_LABELS.has(normalized)) return undefined;
  const exact = EXACT.get(normalized);
  if (exact) return { field: exact, method: "label", score: 0.95 };
  const stripped = dropFiller(normalized);
  if (IGNORED_LABELS.has(stripped)) return undefined;
  const strippedHit = STRIPPED.get(stripped) ?? EXACT.get(stripped);
  if (strippedHit) return { field: strippedHit, method: "label", score: 0.9 };
  const tokens = normalized.split(" ");
  if (tokens.some((t) => FOREIGN_TOKENS.has(t))) return undefined;
  // Very long labels are usually explanations ("We will send the results to..."): only
  // trust a phrase found in them a little less.
  const lengthPenalty = tokens.length > 8 ? 0.1 : 0;
  const phrase = bestPhrase(tokens);
  if (phrase)
    return {
      field: phrase.field,
      method: "label-contains",
      score: 0.8 + Math.min(phrase.tokens.length, 3) * 0.02 - lengthPenalty,
    };
  for (const token of tokens) {
    for (const [tail, field] of COMPOUND_TAILS) {
      if (token.length > tail.length && token.endsWith(tail))
        return { field, method: "label-contains", score: 0.75 - lengthPenalty };
    }
  }
  return undefined;
}
