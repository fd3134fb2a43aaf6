// Personal names: splitting a full name when a form asks only for "Name" (the rule is
// splitFullName's comment), and the German "Vorname" + "Name" pattern where "Name" means the
// surname.
import { normalizeLabel } from "./labels.ts";

// Prefixes of a surname that belong to it ("Ludwig van Beethoven" → last "van Beethoven").
const PARTICLES = new Set([
  "von",
  "van",
  "vom",
  "zu",
  "zur",
  "de",
  "der",
  "den",
  "del",
  "della",
  "di",
  "da",
  "du",
  "la",
  "le",
  "ten",
  "ter",
  "dos",
  "das",
  "bin",
  "al",
]);
// Salutations and titles that are not part of either name; a salutation also tells the gender.
const TITLES = new Set([
  "dr",
  "prof",
  "professor",
  "med",
  "dipl",
  "ing",
  "mag",
  "herr",
  "frau",
  "hr",
  "fr",
  "mr",
  "mrs",
  "ms",
  "miss",
  "mx",
  "sir",
  "madam",
  "mme",
  "mlle",
  "monsieur",
  "madame",
  "sr",
  "sra",
  "srta",
  "senor",
  "senora",
  "sig",
  "sigra",
  "signor",
  "signora",
  "dott",
  "dottssa",
  "dra",
]);

export interface SplitName {
  firstName?: string;
  lastName?: string;
  /** The salutation word found in front ("Herr", "Mrs."), if any. */
  salutation?: string;
  /** Three or more words split by position alone (no comma, capitals or particle told where). */
  ambiguous?: boolean;
}

/** Whitespace collapsed, trimmed. */
export function cleanName(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/**
 * How a form writes names: "es" where people carry two surnames (Spanish, and forms asking
 * "Apellidos"), else "default".
 */
export type NameConvention = "default" | "es";

/** A word in capitals in a name written otherwise in mixed case ("DUPONT Marie"). */
const isCapitalWord = (word: string) => /\p{Lu}{2,}/u.test(word) && word === word.toUpperCase();

/**
 * Splits a full name into given name(s) and surname. The rule, in order (the full name is
 * always kept as written besides; see README "Field mapping"):
 *  1. "Surname, Given Names": the comma separates them ("Müller-Wagner, Eva Maria").
 *  2. Salutations and titles in front are dropped ("Dr.", "Herr"); a salutation tells the gender.
 *  3. Words in capitals, when others are not, are the surname ("DUPONT Marie", "Marie DUPONT").
 *  4. A particle after the first word starts the surname: "Ludwig van Beethoven",
 *     "Anna Maria de la Cruz" (first "Anna Maria"), "João da Silva Santos".
 *  5. Under the "es" convention the last two words of three or more are the surnames:
 *     "José García López" → last "García López"; "María José Fernández Ruiz" → first "María José".
 *  6. Otherwise the last word is the surname and all before it the given names:
 *     "Hans Peter Meier" → first "Hans Peter" (hyphenated parts stay one word).
 * A single word is taken as the first name (how people answer "What should we call you?").
 * `ambiguous` is true for three or more words decided by rules 5 or 6 alone.
 */
export function splitFullName(fullName: string, convention: NameConvention = "default"): SplitName {
  const text = cleanName(fullName);
  if (!text) return {};
  if (text.includes(",")) {
    const [last, ...rest] = text.split(",");
    const first = cleanName(rest.join(" "));
    const lastName = cleanName(last!);
    if (first && lastName) {
      const given = stripTitles(first.split(" "));
      return { firstName: given.tokens.join(" ") || undefined, lastName, salutation: given.salutation };
    }
  }
  const { tokens, salutation } = stripTitles(text.split(" "));
  if (tokens.length === 1) return { firstName: tokens[0], salutation };
  const capitals = tokens.map(isCapitalWord);
  if (capitals.some(Boolean) && !capitals.every(Boolean)) {
    return {
      firstName: tokens.filter((_, i) => !capitals[i]).join(" "),
      lastName: tokens.filter((_, i) => capitals[i]).join(" "),
      salutation,
    };
  }
  let cut = -1;
  for (let i = 1; i < tokens.length - 1; i++) {
    if (PARTICLES.has(tokens[i]!.toLowerCase())) {
      cut = i;
      break;
    }
  }
  let ambiguous = false;
  if (cut < 0) {
    ambiguous = tokens.length >= 3;
    cut = convention === "es" && tokens.length >= 3 ? tokens.length - 2 : tokens.length - 1;
  }
  return {
    firstName: tokens.slice(0, cut).join(" "),
    lastName: tokens.slice(cut).join(" "),
    salutation,
    ...(ambiguous ? { ambiguous } : {}),
  };
}

function stripTitles(words: string[]): { tokens: string[]; salutation?: string } {
  // An index, not shift(): a hostile name of 100,000 titles stays linear.
  let start = 0;
  let salutation: string | undefined;
  while (words.length - start > 1 && TITLES.has(normalizeLabel(words[start]!))) {
    const word = words[start++]!;
    if (
      !salutation &&
      /^(herr|frau|hr|fr|mr|mrs|ms|miss|mx|mme|mlle|monsieur|madame|sr|sra|srta|se[nñ]or|se[nñ]ora|sig|sigra|signor|signora)\.?$/i.test(
        word,
      )
    )
      salutation = word;
  }
  return { tokens: start === 0 ? words : words.slice(start), salutation };
}
