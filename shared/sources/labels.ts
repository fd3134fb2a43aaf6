// Label heuristics: which canonical field does a question label (or a field ref such as
// "first_name", or a path such as "contact.name.first") mean? Synonyms in English, German,
// French, Spanish and Italian, compared after normalization, first exactly, then with filler
// words removed ("What is your email?" → "email"), then as a token sequence inside a longer
// label, then as the tail of a German compound word. A path is read from its end: its last
// two segments in either order, then its last segment ("name.first" → "first name").
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
    "code postal et ville",
    "codigo postal y ciudad",
    "cap e citta",
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

/**
 * French, Spanish and Italian synonyms (normalized), kept beside the English and German ones of
 * shared/patient-fields.ts so that table stays the one list of fields. Short or ambiguous
 * words ("nom", "via", "cap") are matched only as the whole label (EXACT_ONLY below).
 */
const MORE_SYNONYMS: Partial<Record<LabelTarget, readonly string[]>> = {
  firstName: [
    "prenom",
    "prenoms",
    "votre prenom",
    "nombre",
    "nombre de pila",
    "nome",
    "primeiro nome",
    "given",
    "first",
  ],
  lastName: [
    "nom",
    "nom de famille",
    "apellido",
    "apellidos",
    "cognome",
    "sobrenome",
    "familienname",
    "family",
    "last",
    "last name s",
  ],
  fullName: [
    "nom complet",
    "nom et prenom",
    "prenom et nom",
    "nom prenom",
    "prenom nom",
    "nombre completo",
    "nombre y apellidos",
    "nombre y apellido",
    "nome e cognome",
    "nome completo",
    "nome cognome",
    "nome completo e cognome",
  ],
  email: [
    "courriel",
    "adresse e mail",
    "adresse email",
    "adresse mail",
    "adresse electronique",
    "correo",
    "correo electronico",
    "email correo",
    "posta elettronica",
    "indirizzo email",
    "indirizzo e mail",
    "emails",
  ],
  phone: [
    "telephone portable",
    "numero de telephone",
    "portable",
    "tel portable",
    "telefono",
    "telefono movil",
    "numero de telefono",
    "movil",
    "celular",
    "cellulare",
    "numero di telefono",
    "numero di cellulare",
    "phones",
  ],
  dateOfBirth: [
    "ne le",
    "nee le",
    "ne e le",
    "fecha de nacimiento",
    "fecha nacimiento",
    "nacimiento",
    "data di nascita",
    "nato il",
    "nata il",
    "data nascita",
    "birthdate",
  ],
  gender: ["sexe", "genre", "civilite", "sexo", "genero", "sesso", "genere", "titolo"],
  street: [
    "rue",
    "adresse postale",
    "numero et rue",
    "direccion",
    "calle",
    "domicilio",
    "direccion postal",
    "indirizzo",
    "via",
    "indirizzo di residenza",
    "line",
    "line1",
    "lines",
    "address line",
    "street line",
  ],
  postalCode: ["code postal", "cp", "codigo postal", "cap", "codice postale", "zip postal code"],
  city: [
    "ville",
    "commune",
    "localite",
    "ciudad",
    "localidad",
    "poblacion",
    "municipio",
    "citta",
    "comune",
    "localita",
  ],
  country: ["pays", "pais", "paese", "nazione"],
  consent: [
    "consentement",
    "j accepte",
    "je consens",
    "politique de confidentialite",
    "protection des donnees",
    "rgpd",
    "consentimiento",
    "acepto",
    "politica de privacidad",
    "proteccion de datos",
    "consenso",
    "acconsento",
    "accetto",
    "trattamento dei dati",
    "informativa privacy",
  ],
  preferredLanguage: ["langue", "langue preferee", "idioma", "idioma preferido", "lingua", "lingua preferita"],
};
for (const [field, labels] of Object.entries(MORE_SYNONYMS) as [LabelTarget, readonly string[]][])
  SYNONYMS[field] = [...(SYNONYMS[field] ?? []), ...labels];

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
  "submitted",
  "updated at",
  "user agent",
  "gclid",
  "fbclid",
  "landing page",
  "form id",
  "response id",
  "event id",
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
  // French, Spanish, Italian
  "medecin",
  "docteur",
  "medico",
  "urgence",
  "emergencia",
  "emergenza",
  "assurance",
  "mutuelle",
  "seguro",
  "assicurazione",
  "entreprise",
  "societe",
  "empresa",
  "azienda",
  "madre",
  "padre",
  "enfant",
  "hijo",
  "figlio",
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
  // French, Spanish, Italian
  "votre",
  "vos",
  "quel",
  "quelle",
  "est",
  "de",
  "du",
  "la",
  "le",
  "les",
  "veuillez",
  "indiquer",
  "saisir",
  "su",
  "tu",
  "cual",
  "es",
  "el",
  "por",
  "favor",
  "introduzca",
  "indique",
  "il",
  "tuo",
  "tua",
  "suo",
  "sua",
  "qual",
  "di",
  "per",
  "inserisci",
  "indica",
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
  "nom",
  "nome",
  "nombre",
  "via",
  "rue",
  "cap",
  "cp",
  "calle",
  "line",
  "lines",
  "line1",
  "given",
  "family",
  "last",
  "genre",
  "titolo",
  "portable",
  "correo",
  "phones",
  "emails",
  "nacimiento",
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
// By length, longest first, each length's tails by text: a token is looked up once per length,
// not compared with every tail.
const COMPOUND_TAILS = new Map<number, Map<string, LabelTarget>>();
for (const [label, field] of [...EXACT.entries()]
  .filter(([label]) => !label.includes(" ") && label.length >= 6 && !EXACT_ONLY.has(label))
  .sort((a, b) => b[0].length - a[0].length)) {
  const byText = COMPOUND_TAILS.get(label.length) ?? new Map<string, LabelTarget>();
  if (!byText.has(label)) byText.set(label, field);
  COMPOUND_TAILS.set(label.length, byText);
}

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

// A path is a key with dots, slashes or brackets and no spaces: "contact.name.first",
// "answers[2].value". Prose with a full stop ("z.B. Telefon") has spaces.
const isPath = (label: string) => !/\s/.test(label) && /[./[]/.test(label.slice(1, -1));

// FOREIGN_TOKENS that name another person or organisation (not "code", "confirm" or
// "username", which are about the field itself): a question about them proposes nothing,
// whatever its answer type or value shape ("Emergency contact phone" is a phone, not ours).
const OTHER_PARTY = new Set(
  [...FOREIGN_TOKENS].filter(
    (t) =>
      !["code", "username", "benutzername", "confirm", "confirmation", "wiederholen", "bestatigen", "repeat"].includes(
        t,
      ),
  ),
);

/** A label's words, normalized, path separators read as spaces ("" beyond MAX_LABEL_CHARS). */
function labelTokens(label: string): string[] {
  return label.length > MAX_LABEL_CHARS ? [] : normalizeKey(label.replace(/[./[\]]+/g, " ")).split(" ");
}

/** True when the label's words (labelTokens) say it is about someone else ("Name of your doctor", "emergencyContact.phone"). */
function isForeignTokens(tokens: readonly string[]): boolean {
  return tokens.some((t) => OTHER_PARTY.has(t));
}

/**
 * True when the label names delivery metadata (an IP address, a timestamp, a UTM tag): the
 * whole label, or a path's last segment. `tokens` (labelTokens of a label that is no path)
 * saves normalizing it again.
 */
function isIgnoredLabel(label: string, path?: readonly string[], tokens?: readonly string[]): boolean {
  if (label.length > MAX_LABEL_CHARS) return false;
  const last =
    path || isPath(label)
      ? normalizeKey((path ?? label.split(/[./[\]]+/).filter(Boolean)).at(-1) ?? "")
      : (tokens?.join(" ") ?? normalizeKey(label));
  return IGNORED_LABELS.has(last) || IGNORED_LABELS.has(dropFiller(last));
}

/** "phones" → "phone": plurals of a path segment ("contact.phones.0.number"). */
const singular = (word: string) => (word.length > 3 && word.endsWith("s") ? word.slice(0, -1) : word);

function exactHit(key: string): LabelTarget | undefined {
  return EXACT.get(key) ?? STRIPPED.get(dropFiller(key));
}

/**
 * A path read from its end: the last two segments (index segments skipped) in either order,
 * singular or as written, then the last segment alone, then the last segment as a label.
 * Any segment naming someone else (OTHER_PARTY) or a last one naming metadata (IGNORED_LABELS) ends it.
 */
function matchPath(label: string): LabelMatch | undefined {
  return matchSegments(label.split(/[./[\]]+/));
}

/**
 * The path of a nested answer (its keys from the top, as flattenAnswers keeps them), read like a
 * path label: segments may hold spaces ("Datos personales" → "Nombre").
 */
function matchSegments(parts: readonly string[]): LabelMatch | undefined {
  if (parts.reduce((n, p) => n + p.length, 0) > MAX_LABEL_CHARS) return undefined;
  const segments = parts.map(normalizeKey).filter((s) => s !== "" && !/^\d+$/.test(s));
  if (segments.length === 0) return undefined;
  if (segments.length === 1) return matchPlain(segments[0]!);
  if (segments.some((s) => s.split(" ").some((t) => OTHER_PARTY.has(t)))) return undefined;
  const last = segments.at(-1)!;
  const prev = segments.at(-2)!;
  if (IGNORED_LABELS.has(last)) return undefined;
  for (const key of [
    `${prev} ${last}`,
    `${last} ${prev}`,
    `${singular(prev)} ${last}`,
    `${last} ${singular(prev)}`,
    last,
    singular(last),
  ]) {
    const hit = exactHit(key);
    if (hit) return { field: hit, method: "label", score: 0.9 };
  }
  const tail = matchPlain(last);
  return tail && { ...tail, score: tail.score - 0.05 };
}

/**
 * Best canonical field for a label, key or path, or undefined. Pure and linear in the label's
 * length (a few map look-ups a token).
 */
export function matchLabel(label: string): LabelMatch | undefined {
  if (label.length > MAX_LABEL_CHARS) return undefined;
  return isPath(label) ? matchPath(label) : matchPlain(label);
}

/** What the mapper reads from a label once per submission: its match, and whether it is about someone else or metadata. */
export interface LabelReading {
  match: LabelMatch | undefined;
  foreign: boolean;
  ignored: boolean;
  /** labelTokens of the label. */
  tokens: string[];
}

/** matchLabel (or matchSegments for a nested answer's path), isForeignLabel and isIgnoredLabel, normalizing once. */
export function readLabel(label: string, path?: readonly string[]): LabelReading {
  if (label.length > MAX_LABEL_CHARS) return { match: undefined, foreign: false, ignored: false, tokens: [] };
  if (path || isPath(label)) {
    const tokens = labelTokens(label);
    const ignored = isIgnoredLabel(label, path, tokens);
    return { match: path ? matchSegments(path) : matchPath(label), foreign: isForeignTokens(tokens), ignored, tokens };
  }
  // For a label that is no path, labelTokens is normalizeKey split at spaces.
  const normalized = normalizeKey(label);
  const tokens = normalized.split(" ");
  const stripped = dropFiller(normalized);
  const ignored = IGNORED_LABELS.has(normalized) || IGNORED_LABELS.has(stripped);
  return {
    match: ignored ? undefined : matchPlain(label, normalized, stripped),
    foreign: isForeignTokens(tokens),
    ignored,
    tokens,
  };
}

function matchPlain(label: string, normalized = normalizeKey(label), knownStripped?: string): LabelMatch | undefined {
  if (!normalized || IGNORED_LABELS.has(normalized)) return undefined;
  const exact = EXACT.get(normalized);
  if (exact) return { field: exact, method: "label", score: 0.95 };
  const stripped = knownStripped ?? dropFiller(normalized);
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
    for (const [length, byText] of COMPOUND_TAILS) {
      if (token.length <= length) continue;
      const field = byText.get(token.slice(-length));
      if (field) return { field, method: "label-contains", score: 0.75 - lengthPenalty };
    }
  }
  return undefined;
}
