// Value normalizers for the canonical record. Each takes what a person typed (or a form
// tool sent) and returns the canonical form, or undefined when the value does not have
// the right shape: the mapper then leaves the field unset (the raw answer is kept anyway).
import { type CountryCode, getCountries, parsePhoneNumberFromString } from "libphonenumber-js";
import { MAX_LABEL_CHARS, normalizeLabel } from "./labels.ts";
import type { DateOrder } from "./types.ts";

/**
 * Longest text a canonical field value can have. Nothing longer is an email address
 * (RFC 5321 caps one at 254 characters), a phone number, a date, a postal code, a
 * country, a gender, a name or a street line, so the normalizers answer "not this
 * field" before any pattern runs: the work a hostile answer can cause stays bounded
 * whatever the patterns are. The raw answer is still kept whole in `answers`.
 */
const MAX_VALUE_CHARS = 256;

// A multi-select answer is a list; lists of lists happen (namedValues). JSON allows any
// depth, and flattening 100,000 levels recursively would overflow the stack.
const MAX_LIST_DEPTH = 4;

/** Flattens an answer value to text: arrays joined with ", ", blanks → undefined. */
export function asText(value: unknown): string | undefined {
  return textOf(value, 0);
}

function textOf(value: unknown, depth: number): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) {
    if (depth >= MAX_LIST_DEPTH) return undefined;
    return (
      value
        .map((item) => textOf(item, depth + 1))
        .filter(Boolean)
        .join(", ") || undefined
    );
  }
  if (typeof value === "object") return undefined;
  const text = String(value).replace(/\s+/g, " ").trim();
  return text === "" ? undefined : text;
}

/** asText, but undefined when longer than `max` (raw strings are measured before anything runs on them). */
export function boundedText(value: unknown, max = MAX_VALUE_CHARS): string | undefined {
  if (typeof value === "string" && value.length > max) return undefined;
  const text = asText(value);
  return text !== undefined && text.length <= max ? text : undefined;
}

const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:".]{2,}$/u;

export function normalizeEmail(value: unknown): string | undefined {
  const text = boundedText(value)
    ?.replace(/^mailto:/i, "")
    .trim();
  if (!text || !EMAIL.test(text)) return undefined;
  return text.toLowerCase();
}

/** True when the text looks like a phone number at all (before asking libphonenumber). */
function phoneShaped(text: string): boolean {
  const digits = text.replace(/\D/g, "");
  // A dotted quad is an IP address, not a number dialled with dots.
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return false;
  return /^(tel:)?[+\d(][\d\s()./-]*$/i.test(text) && digits.length >= 6 && digits.length <= 17;
}

/** Phone → E.164 using `region` for numbers written without a country code; invalid → undefined. */
export function normalizePhone(value: unknown, region: CountryCode = "DE"): string | undefined {
  const phone = parsePhone(value, region);
  return phone?.valid ? phone.e164 : undefined;
}

/**
 * Phone → E.164 when the number is at least possible (its length fits its country). `valid`
 * is false when the phone metadata does not know the range: new ranges and test numbers
 * (07700 900xxx in the UK) are real numbers people type, so the mapper keeps them, flagged.
 */
export function parsePhone(value: unknown, region: CountryCode = "DE"): { e164: string; valid: boolean } | undefined {
  let text = boundedText(value);
  if (!text) return undefined;
  text = text.replace(/^tel:/i, "").trim();
  if (!phoneShaped(text)) return undefined;
  const parsed = parsePhoneNumberFromString(text, region);
  if (!parsed?.isPossible()) return undefined;
  return { e164: parsed.number, valid: parsed.isValid() };
}

const MONTHS: Record<string, number> = {};
for (const [n, names] of [
  [1, "jan january januar janner"],
  [2, "feb february februar"],
  [3, "mar march marz maerz"],
  [4, "apr april"],
  [5, "may mai"],
  [6, "jun june juni"],
  [7, "jul july juli"],
  [8, "aug august"],
  [9, "sep sept september"],
  [10, "oct october okt oktober"],
  [11, "nov november"],
  [12, "dec december dez dezember"],
  // French, Spanish, Italian
  [1, "janvier janv enero ene gennaio genn"],
  [2, "fevrier fevr fev febrero febbraio"],
  [3, "mars marzo"],
  [4, "avril abril aprile"],
  [5, "mayo maggio"],
  [6, "juin junio giugno"],
  [7, "juillet juil julio luglio"],
  [8, "aout agosto"],
  [9, "septembre septiembre setiembre settembre sett"],
  [10, "octobre octubre ottobre ott"],
  [11, "novembre noviembre"],
  [12, "decembre diciembre dicembre dic"],
] as const)
  for (const name of names.split(" ")) MONTHS[name] = n;

function isoDate(y: number, m: number, d: number): string | undefined {
  if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1000 || y > 9999) return undefined;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return undefined;
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** Two-digit years: a birth year, so never in the future ("85" → 1985, "05" → 2005). */
function fullYear(text: string, currentYear: number): number {
  const y = Number(text);
  if (text.length !== 2) return y;
  return 2000 + y > currentYear ? 1900 + y : 2000 + y;
}

/**
 * A date in any common written form → yyyy-mm-dd. Dotted dates are always day first
 * (that is how they are written where dots are used); slashed/dashed ones follow
 * `order`, unless only the other reading is a real date ("03/15/1985" under DMY).
 */
export function normalizeDate(
  value: unknown,
  order: DateOrder = "DMY",
  currentYear = new Date().getUTCFullYear(),
): string | undefined {
  const text = boundedText(value);
  if (!text) return undefined;
  let m =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(text) ??
    /^(\d{4})[./](\d{1,2})[./](\d{1,2})$/.exec(text);
  if (m) return isoDate(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{1,2})\s*([./-])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})$/.exec(text);
  if (m) {
    const a = Number(m[1]),
      b = Number(m[3]),
      y = fullYear(m[4]!, currentYear);
    const dayFirst = m[2] === "." || order !== "MDY";
    return dayFirst ? (isoDate(y, b, a) ?? isoDate(y, a, b)) : (isoDate(y, a, b) ?? isoDate(y, b, a));
  }
  // "15 de marzo de 1985", "1er mars 1992", "March 3rd, 1994": connecting words and ordinal
  // endings go before the words are read.
  const words = normalizeLabel(text)
    .split(" ")
    .filter((w) => !DATE_FILLER.has(w))
    .map((w) => w.replace(/^(\d{1,2})(st|nd|rd|th|er|re|e|o|a)$/, "$1"));
  // "15. März 1985", "15 March 1985"
  if (words.length === 3 && /^\d{1,2}$/.test(words[0]!) && MONTHS[words[1]!] && /^\d{4}$/.test(words[2]!)) {
    return isoDate(Number(words[2]), MONTHS[words[1]!]!, Number(words[0]));
  }
  // "March 15, 1985"
  if (words.length === 3 && MONTHS[words[0]!] && /^\d{1,2}$/.test(words[1]!) && /^\d{4}$/.test(words[2]!)) {
    return isoDate(Number(words[2]), MONTHS[words[0]!]!, Number(words[1]));
  }
  return undefined;
}

const DATE_FILLER = new Set(["de", "del", "le", "el", "il", "the", "of", "den"]);

/** A date that could be a birth date: a real date, not in the future, after 1900. */
export function plausibleBirthDate(iso: string, currentYear = new Date().getUTCFullYear()): boolean {
  const year = Number(iso.slice(0, 4));
  return year >= 1900 && year <= currentYear;
}

const GENDER: Record<string, "male" | "female" | "diverse"> = {};
for (const [canonical, words] of [
  [
    "male",
    "male m man mann mannlich maennlich herr hr mr mister boy junge masculine maskulin homme masculin monsieur " +
      "hombre masculino senor sr varon uomo maschio maschile signore signor",
  ],
  [
    "female",
    "female f w woman frau fr weiblich mrs ms miss madam girl madchen feminine feminin femme madame mme mlle " +
      "mujer femenino senora sra donna femmina femminile signora",
  ],
  [
    "diverse",
    "diverse divers d x nonbinary non binary nicht binar inter intersex other andere anderes genderqueer enby " +
      "autre otro otra altro altra",
  ],
] as const)
  for (const word of words.split(" ")) GENDER[word] = canonical;
// Multi-word entries above are joined back so "non binary" matches as a phrase.
GENDER["non binary"] = "diverse";
GENDER["nicht binar"] = "diverse";
GENDER["non binaire"] = "diverse";
GENDER["no binario"] = "diverse";
GENDER["non binario"] = "diverse";

/**
 * "Herr"/"Männlich"/"male" → "male", "Frau"/"Weiblich" → "female", "divers" → "diverse";
 * unknown → undefined.
 */
export function normalizeGender(value: unknown): "male" | "female" | "diverse" | undefined {
  const text = boundedText(value);
  if (!text) return undefined;
  const normalized = normalizeLabel(text);
  const whole = GENDER[normalized];
  if (whole) return whole;
  // "Männlich (m)", "Mr." etc.: the first token that is a known word decides.
  for (const token of normalized.split(" ")) {
    const hit = GENDER[token];
    if (hit && token.length > 1) return hit;
  }
  return undefined;
}

const CONSENT_NO =
  /^(no|nein|n|non|false|0|off|declined?|abgelehnt|ablehnen|disagree|widersprochen|not accepted|unchecked|refuse|rechazo)$|\b(not|nicht|don t|do not|keine?n?|ne pas|no acepto|non accetto)\b/;
const CONSENT_YES =
  /^(yes|ja|j|y|true|1|on|x|checked|accepted|accept|agreed?|ok|okay|einverstanden|zugestimmt|akzeptiert|ich stimme zu|i agree|i accept|i consent|ich willige ein|oui|si|d accord)$|agree|zustimm|stimme|einverstanden|akzept|accept|consent|einwillig|willige|gelesen|read|accepte|consens|acepto|accetto|acconsento/;

/**
 * Consent answers → boolean. `certain` is false when the answer was a non-empty text we
 * could not classify (typically a ticked checkbox whose value is its own long label, so
 * texts up to a label's length are read; longer is no consent answer).
 */
export function normalizeConsent(value: unknown): { value: boolean; certain: boolean } | undefined {
  if (typeof value === "boolean") return { value, certain: true };
  if (typeof value === "number") return value === 1 || value === 0 ? { value: value === 1, certain: true } : undefined;
  if (Array.isArray(value)) {
    const items = value.map(asText).filter((t): t is string => t !== undefined);
    // An empty checkbox group is an explicit "nothing ticked".
    if (items.length === 0) return { value: false, certain: true };
    const verdicts = items.map((item) => normalizeConsent(item));
    if (verdicts.every((v) => v && !v.value)) return { value: false, certain: true };
    return { value: true, certain: verdicts.some((v) => v?.value && v.certain) };
  }
  const text = boundedText(value, MAX_LABEL_CHARS);
  if (!text) return undefined;
  const normalized = normalizeLabel(text);
  if (normalized === "" && /[✓✔☑]/u.test(text)) return { value: true, certain: true };
  if (CONSENT_NO.test(normalized)) return { value: false, certain: true };
  if (CONSENT_YES.test(normalized)) return { value: true, certain: true };
  return { value: true, certain: false };
}

/**
 * Postal code: upper-case, single spaces, must contain a digit; 4-digit numbers in DE/AT get no
 * padding, DE numbers typed as numbers do.
 */
export function normalizePostalCode(value: unknown, region: CountryCode = "DE"): string | undefined {
  let text: string | undefined;
  // Number inputs lose leading zeros (Dresden is 01067): restore them for 5-digit regions.
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) {
    text = String(value);
    if (
      (region === "DE" || region === "US" || region === "FR" || region === "IT" || region === "ES") &&
      text.length === 4
    )
      text = `0${text}`;
  } else text = boundedText(value)?.toUpperCase();
  if (!text) return undefined;
  if (!/^[A-Z0-9](?:[A-Z0-9 -]{0,8}[A-Z0-9])?$/.test(text) || !/\d/.test(text) || text.length < 3) return undefined;
  return text;
}

const CODE_THEN_CITY = /^(?:[A-Z]{1,2}-)?(\d{4,5})[\s,]+(\p{L}[\p{L}\s.'()/-]*)$/u;
const CITY = /^\p{L}[\p{L}\s.'()/-]*$/u;
const isDigit = (ch: string | undefined) => ch !== undefined && ch >= "0" && ch <= "9";

/**
 * "10115 Berlin" / "D-10115 Berlin" / "Berlin, 10115" → { postalCode, city }.
 * Every step is linear: the city-first form is cut by hand at the trailing digits, not
 * by a lazy city pattern followed by `[\s,]+` (both match spaces, which backtracks).
 */
export function splitPostalCity(value: unknown): { postalCode: string; city?: string } | undefined {
  const text = boundedText(value);
  if (!text) return undefined;
  const m = CODE_THEN_CITY.exec(text);
  if (m) return { postalCode: m[1]!, city: m[2]!.trim() };
  const cityFirst = splitCityThenCode(text);
  if (cityFirst) return cityFirst;
  const code = normalizePostalCode(text);
  return code && /^\d{4,5}$/.test(code) ? { postalCode: code } : undefined;
}

/** "Berlin 10115", "Bad Tölz, 83646": a city, separators (spaces/commas), then 4-5 trailing digits. */
function splitCityThenCode(text: string): { postalCode: string; city: string } | undefined {
  let codeStart = text.length;
  while (isDigit(text[codeStart - 1])) codeStart--;
  const digits = text.length - codeStart;
  if (digits < 4 || digits > 5) return undefined;
  let cityEnd = codeStart;
  while (cityEnd > 0 && /[\s,]/.test(text[cityEnd - 1]!)) cityEnd--;
  if (cityEnd === codeStart) return undefined;
  const city = text.slice(0, cityEnd);
  return CITY.test(city) ? { postalCode: text.slice(codeStart), city: city.trim() } : undefined;
}

// Postal code formats by country, for splitting a one-line address. Continental Europe
// writes "code city" after the street; Britain and Ireland "city code"; the US "city, ST zip".
const CITY_TEXT = "\\p{L}[\\p{L}\\s.'()/-]*";
const POSTAL_FORMATS: Record<string, { code: string; order: "code-city" | "city-code" | "us" }> = {
  NL: { code: "\\d{4} ?[A-Z]{2}", order: "code-city" },
  DE: { code: "\\d{5}", order: "code-city" },
  FR: { code: "\\d{5}", order: "code-city" },
  IT: { code: "\\d{5}", order: "code-city" },
  ES: { code: "\\d{5}", order: "code-city" },
  AT: { code: "\\d{4}", order: "code-city" },
  CH: { code: "\\d{4}", order: "code-city" },
  BE: { code: "\\d{4}", order: "code-city" },
  LU: { code: "\\d{4}", order: "code-city" },
  PT: { code: "\\d{4}-\\d{3}", order: "code-city" },
  PL: { code: "\\d{2}-\\d{3}", order: "code-city" },
  GB: { code: "[A-Z]{1,2}\\d[A-Z\\d]? ?\\d[A-Z]{2}", order: "city-code" },
  IE: { code: "[A-Z]\\d[\\dW] ?[A-Z\\d]{4}", order: "city-code" },
  US: { code: "\\d{5}(?:-\\d{4})?", order: "us" },
};
const TAIL_PATTERNS = new Map(
  Object.entries(POSTAL_FORMATS).map(([country, f]) => [
    country,
    new RegExp(
      f.order === "code-city"
        ? `^(?:[A-Z]{1,2}-)?(${f.code})\\s+(${CITY_TEXT})$`
        : f.order === "city-code"
          ? `^(${CITY_TEXT}?)[\\s,]+(${f.code})$`
          : `^(${CITY_TEXT}?),?\\s+[A-Z]{2}\\s+(${f.code})$`,
      "u",
    ),
  ]),
);
const CODE_FIRST = new Set(Object.keys(POSTAL_FORMATS).filter((c) => POSTAL_FORMATS[c]!.order === "code-city"));

/** "75002 Paris" / "London SW1A 2AA" / "Mountain View, CA 94043" → postal code and city, by `countries` in order. */
function addressTail(tail: string, countries: readonly string[]): { postalCode: string; city: string } | undefined {
  for (const country of countries) {
    const m = TAIL_PATTERNS.get(country)!.exec(tail);
    if (!m) continue;
    const [code, city] = POSTAL_FORMATS[country]!.order === "code-city" ? [m[1]!, m[2]!] : [m[2]!, m[1]!];
    return { postalCode: code, city: city.trim() };
  }
  return undefined;
}

/** A street line: a letter and a house number, either end ("Musterstraße 12", "12 rue de la Paix"). */
const streetShaped = (street: string) => /\p{L}/u.test(street) && /\d/.test(street);

/**
 * "Musterstraße 1, 10115 Berlin", "12 rue de la Paix, 75002 Paris", "10 Downing Street, London
 * SW1A 2AA", "1600 Amphitheatre Pkwy, Mountain View, CA 94043", "Rosenweg 14\n04109 Leipzig",
 * "Hauptstraße 5a 70173 Stuttgart" → street + postal code + city; undefined if not such a
 * line. The country's own format is tried first when the country is known, then the others
 * (the Dutch first: "1017 GC" is no four-digit code and a city "GC …"). Bounded by
 * MAX_VALUE_CHARS, so the patterns' work is too.
 */
export function splitAddressLine(
  text: string,
  country?: string,
): { street: string; postalCode: string; city: string } | undefined {
  if (text.length > MAX_VALUE_CHARS) return undefined;
  const known = country && POSTAL_FORMATS[country] ? [country] : [];
  const order = [...known, ...Object.keys(POSTAL_FORMATS).filter((c) => c !== country)];
  // Cut at each comma or line break, the last first (a city holds none; the US tail
  // "Mountain View, CA 94043" holds one): the street is the text before it, as written.
  for (let cut = text.length - 1; cut > 0; cut--) {
    const ch = text[cut]!;
    if (ch !== "," && ch !== "\n" && ch !== "\r") continue;
    const street = text.slice(0, cut).trim();
    if (!/\d/.test(street)) continue;
    const tail = addressTail(
      text
        .slice(cut + 1)
        .trim()
        .replace(/\s*[\n\r]+\s*/g, ", "),
      order,
    );
    if (tail) return { street, ...tail };
  }
  if (/[\n\r,]/.test(text)) return undefined;
  // One line without commas: the postal code is the first code-shaped word after a street
  // with a number, followed by the city (continental order only).
  const words = text.trim().split(/\s+/);
  for (let j = 1; j < words.length - 1; j++) {
    if (!/^\d{4,5}$/.test(words[j]!)) continue;
    const street = words.slice(0, j).join(" ");
    if (!streetShaped(street)) continue;
    const tail = addressTail(
      words.slice(j).join(" "),
      order.filter((c) => CODE_FIRST.has(c)),
    );
    if (tail) return { street, ...tail };
  }
  return undefined;
}

// Country names in English, German, French, Spanish and Italian (from the runtime's ICU data) plus common aliases → ISO 3166 alpha-2.
const COUNTRY = new Map<string, string>();
{
  const names = ["en", "de", "fr", "es", "it"].map((locale) => new Intl.DisplayNames([locale], { type: "region" }));
  for (const code of getCountries()) {
    COUNTRY.set(code.toLowerCase(), code);
    for (const dn of names) {
      const name = dn.of(code);
      if (name) COUNTRY.set(normalizeLabel(name), code);
    }
  }
  for (const [alias, code] of Object.entries({
    usa: "US",
    "united states of america": "US",
    america: "US",
    uk: "GB",
    england: "GB",
    "great britain": "GB",
    scotland: "GB",
    wales: "GB",
    brd: "DE",
    deutschland: "DE",
    germany: "DE",
    "bundesrepublik deutschland": "DE",
    holland: "NL",
    "the netherlands": "NL",
    schweiz: "CH",
    suisse: "CH",
    osterreich: "AT",
    oesterreich: "AT",
  }))
    COUNTRY.set(alias, code);
}

/** Country → ISO 3166-1 alpha-2 when recognised ("Deutschland", "Germany", "de" → "DE"). */
export function normalizeCountry(value: unknown): { value: string; recognised: boolean } | undefined {
  const text = boundedText(value);
  if (!text) return undefined;
  const code = COUNTRY.get(normalizeLabel(text));
  return code ? { value: code, recognised: true } : { value: text, recognised: false };
}

/** Collapses whitespace; undefined for blanks. */
export function normalizeText(value: unknown): string | undefined {
  return asText(value);
}
