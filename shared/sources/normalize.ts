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
  return /^(tel:)?[+\d(][\d\s()./-]*$/i.test(text) && digits.length >= 6 && digits.length <= 17;
}

/** Phone → E.164 using `region` for numbers written without a country code; invalid → undefined. */
export function normalizePhone(value: unknown, region: CountryCode = "DE"): string | undefined {
  let text = boundedText(value);
  if (!text) return undefined;
  text = text.replace(/^tel:/i, "").trim();
  if (!phoneShaped(text)) return undefined;
  const parsed = parsePhoneNumberFromString(text, region);
  return parsed?.isValid() ? parsed.number : undefined;
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
  const words = normalizeLabel(text).split(" ");
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

/** A date that could be a birth date: a real date, not in the future, after 1900. */
export function plausibleBirthDate(iso: string, currentYear = new Date().getUTCFullYear()): boolean {
  const year = Number(iso.slice(0, 4));
  return year >= 1900 && year <= currentYear;
}

const GENDER: Record<string, "male" | "female" | "diverse"> = {};
for (const [canonical, words] of [
  ["male", "male m man mann mannlich maennlich herr hr mr mister boy junge masculine maskulin"],
  ["female", "female f w woman frau fr weiblich mrs ms miss madam girl madchen feminine feminin"],
  [
    "diverse",
    "diverse divers d x nonbinary non binary nicht binar inter intersex other andere anderes genderqueer enby",
  ],
] as const)
  for (const word of words.split(" ")) GENDER[word] = canonical;
// Multi-word entries above are joined back so "non binary" matches as a phrase.
GENDER["non binary"] = "diverse";
GENDER["nicht binar"] = "diverse";

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
  /^(no|nein|n|false|0|off|declined?|abgelehnt|ablehnen|disagree|widersprochen|not accepted|unchecked)$|\b(not|nicht|don t|do not|keine?n?)\b/;
const CONSENT_YES =
  /^(yes|ja|j|y|true|1|on|x|checked|accepted|accept|agreed?|ok|okay|einverstanden|zugestimmt|akzeptiert|ich stimme zu|i agree|i accept|i consent|ich willige ein)$|agree|zustimm|stimme|einverstanden|akzept|accept|consent|einwillig|willige|gelesen|read/;

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

// After the address line's last comma: optional country prefix, the postal code, the city.
const ADDRESS_TAIL = /^\s*(?:[A-Z]{1,2}-)?(\d{4,5})\s+(\p{L}[\p{L}\s.'-]*)$/u;

/**
 * "Musterstraße 12", "Hauptstr. 5a", "Weg 7 b": some text on one line, then a house number
 * (digits, maybe one letter).
 */
function endsWithHouseNumber(street: string): boolean {
  let i = street.length - 1;
  if (i >= 0 && /[a-zA-Z]/.test(street[i]!)) {
    i--;
    while (i >= 0 && /\s/.test(street[i]!)) i--;
  }
  return i >= 1 && isDigit(street[i]) && !/[\n\r\u2028\u2029]/.test(street.slice(0, i));
}

/**
 * "Musterstraße 1, 10115 Berlin" → street + postal code + city; undefined if not that shape.
 * Cut at the last comma (the city holds none) and each side checked on its own: the
 * single pattern this replaces (`.+?\d+` before the comma) retried every digit run from
 * every position, so "a" + 100,000 digits blocked the event loop for seconds.
 */
export function splitAddressLine(text: string): { street: string; postalCode: string; city: string } | undefined {
  if (text.length > MAX_VALUE_CHARS) return undefined;
  const comma = text.lastIndexOf(",");
  if (comma < 0) return undefined;
  const tail = ADDRESS_TAIL.exec(text.slice(comma + 1));
  const street = text.slice(0, comma).trimEnd();
  if (!tail || !endsWithHouseNumber(street)) return undefined;
  return { street: street.trim(), postalCode: tail[1]!, city: tail[2]!.trim() };
}

// Country names in English and German (from the runtime's ICU data) plus common aliases → ISO 3166 alpha-2.
const COUNTRY = new Map<string, string>();
{
  const names = ["en", "de"].map((locale) => new Intl.DisplayNames([locale], { type: "region" }));
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
