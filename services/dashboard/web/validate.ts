// The Add New Client form's rules, the API's own (migration 011): checked as the user types so
// a mistake is shown next to its field before anything is sent.

export const SOURCE_TYPES = [
  { value: "heyflow", label: "HeyFlow" },
  { value: "typeform", label: "Typeform" },
  { value: "google-forms", label: "Google Forms" },
  { value: "generic", label: "Generic (Standard Webhooks)" },
] as const;

export interface ClientForm {
  name: string;
  sourceType: string;
  sourceName: string;
}

/** Each field's problem, if any (absent: fine). */
export function validateClient(form: ClientForm): Partial<Record<keyof ClientForm, string>> {
  const errors: Partial<Record<keyof ClientForm, string>> = {};
  const name = form.name.trim();
  if (name === "") errors.name = "Enter the client's name.";
  else if (name.length > 200) errors.name = "Use at most 200 characters.";
  if (!SOURCE_TYPES.some((t) => t.value === form.sourceType)) errors.sourceType = "Pick the form tool.";
  const sourceName = form.sourceName.trim();
  if (sourceName !== "" && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(sourceName))
    errors.sourceName = "Use lower-case letters, digits and hyphens (up to 63), starting with a letter or digit.";
  return errors;
}
