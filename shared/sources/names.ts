// Personal names: splitting a full name when a form asks only for "Name", and the
// German "Vorname" + "Name" pattern where "Name" means the surname.
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
]);

export interface SplitName {
  firstName?: string;
  lastName?: string;
  /** The salutation word found in front ("Herr", "Mrs."), if any. */
  salutation?: string;
}

/** Whitespace collapsed, trimmed. */
export function cleanName(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/**
 * "Anne-Marie Müller-Lüdenscheidt" → first "Anne-Marie", last "Müller-Lüdenscheidt";
 * "Müller, Anna" → first "Anna", last "Müller"; "Dr. Hans Peter Meier" → first "Hans Peter".
 * A single word is taken as the first name (how people answer "What should we call you?").
 */
export function splitFullName(fullName: string): SplitName {
  const text = cleanName(fullName);
  if (!text) return {};
  if (text.includes(",")) {
    const [last, ...rest] = text.split(",");
    const first = cleanName(rest.join(" "));
    const lastName = cleanName(last!);
    if (first && lastName) return { ...splitFullName(first), lastName };
  }
  const tokens = text.split(" ");
  let salutation: string | undefined;
  while (tokens.length > 1 && TITLES.has(normalizeLabel(tokens[0]!))) {
    const word = tokens.shift()!;
    if (!salutation && /^(herr|frau|hr|fr|mr|mrs|ms|miss|mx)\.?$/i.test(word)) salutation = word;
  }
  if (tokens.length === 1) return { firstName: tokens[0], salutation };
  let cut = tokens.length - 1;
  for (let i = 1; i < tokens.length - 1; i++) {
    if (PARTICLES.has(tokens[i]!.toLowerCase())) {
      cut = i;
      break;
    }
  }
  return { firstName: tokens.slice(0, cut).join(" "), lastName: tokens.slice(cut).join(" "), salutation };
}
