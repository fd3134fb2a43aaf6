// typeform: `form_response` webhooks (https://www.typeform.com/developers/webhooks/).
// Answers reference their question by field id (and ref); the question titles live in
// `form_response.definition.fields`. Hidden fields and the calculated score are kept as
// answers too, typed "hidden" / "calculated" so the mapper can weigh them.
import { isObject, type JsonObject, parseJsonObject, stringOrNull, toIsoTimestamp } from "../body.ts";
import { buildEvent } from "../event.ts";
import { AdapterError, type Answer } from "../types.ts";
import { defineAdapter, SIGNATURE_SCHEMES } from "./define.ts";

interface FieldDef {
  id?: string;
  ref?: string;
  title?: string;
  type?: string;
}

function formResponse(body: JsonObject): JsonObject {
  const fr = body.form_response;
  if (!isObject(fr)) {
    throw new AdapterError("unparseable_body", "not a Typeform webhook: form_response object is missing");
  }
  return fr;
}

/**
 * Titles can recall earlier answers ("Thanks {{field:abc}}, your email?"): drop the
 * placeholders, they are not the question. Linear on any title: a placeholder holds no
 * brace, so a scan started at one "{{" never runs past the next brace (`[^}]*` did, from
 * every "{{" of a "{{{{…" run), and whitespace is collapsed before the space-before-
 * punctuation fix, so that one looks at single spaces.
 */
export function cleanTitle(title: string): string {
  return title
    .replace(/\{\{[^{}]*\}\}/g, "")
    .replace(/\s+/g, " ")
    .replace(/ ([,.?!:])/g, "$1")
    .replace(/^[,. ]+/, "")
    .trim();
}

/** The value of one answer, by its type. Unknown types fall back to the property named like the type. */
export function typeformAnswerValue(answer: JsonObject): unknown {
  const type = typeof answer.type === "string" ? answer.type : "";
  switch (type) {
    case "choice": {
      const choice = isObject(answer.choice) ? answer.choice : {};
      // "Other" carries the typed text in `other` instead of a label.
      return choice.label ?? choice.other ?? null;
    }
    case "choices": {
      const choices = isObject(answer.choices) ? answer.choices : {};
      const labels = Array.isArray(choices.labels) ? [...choices.labels] : [];
      if (typeof choices.other === "string" && choices.other !== "") labels.push(choices.other);
      return labels;
    }
    case "payment": {
      const p = isObject(answer.payment) ? answer.payment : {};
      return { amount: p.amount ?? null, last4: p.last4 ?? null, name: p.name ?? null, success: p.success ?? null };
    }
    default:
      return type in answer ? answer[type] : null;
  }
}

/**
 * Every field definition, those inside question groups too (a group's own fields sit in
 * `properties.fields`, at any depth). Walked with a stack, and bounded like the body.
 */
function fieldDefs(definition: JsonObject): FieldDef[] {
  const out: FieldDef[] = [];
  const stack: unknown[] = Array.isArray(definition.fields) ? [...definition.fields].reverse() : [];
  while (stack.length > 0 && out.length < 10_000) {
    const field = stack.pop();
    if (!isObject(field)) continue;
    out.push(field as FieldDef);
    const children = isObject(field.properties) ? field.properties.fields : undefined;
    if (Array.isArray(children)) for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return out;
}

function typeformAnswers(fr: JsonObject): Answer[] {
  const definition = isObject(fr.definition) ? fr.definition : {};
  const defs = fieldDefs(definition);
  const byId = new Map(defs.filter((d) => d.id).map((d) => [d.id!, d]));
  const byRef = new Map(defs.filter((d) => d.ref).map((d) => [d.ref!, d]));
  const answers: Answer[] = [];
  for (const raw of Array.isArray(fr.answers) ? fr.answers : []) {
    if (!isObject(raw)) continue;
    const field = isObject(raw.field) ? (raw.field as FieldDef) : {};
    const def = (field.id && byId.get(field.id)) || (field.ref && byRef.get(field.ref)) || undefined;
    const title = def?.title ? cleanTitle(def.title) : "";
    answers.push({
      label: title || field.ref || field.id || "unnamed question",
      value: typeformAnswerValue(raw),
      ...(field.id ? { fieldId: field.id } : {}),
      ...(field.ref ? { ref: field.ref } : {}),
      fieldType: typeof raw.type === "string" ? raw.type : (field.type ?? "unknown"),
    });
  }
  if (isObject(fr.hidden)) {
    for (const [key, value] of Object.entries(fr.hidden))
      answers.push({ label: key, value, ref: key, fieldType: "hidden" });
  }
  const score = isObject(fr.calculated) ? fr.calculated.score : undefined;
  if (score !== undefined) answers.push({ label: "score", value: score, fieldType: "calculated" });
  // Variables other than the score (which `calculated` already holds). A number is computed
  // (a price, a count); a text variable is set by the form's logic, often from an answer, and
  // is weighed like a hidden field ("variable").
  for (const variable of Array.isArray(fr.variables) ? fr.variables : []) {
    if (!isObject(variable) || typeof variable.key !== "string" || variable.key === "score") continue;
    const type = typeof variable.type === "string" ? variable.type : "";
    answers.push({
      label: variable.key,
      value: variable[type] ?? null,
      fieldType: type === "text" ? "variable" : "calculated",
    });
  }
  return answers;
}

function eventId(body: JsonObject, fr: JsonObject | undefined): string | null {
  // `token` identifies the response; it stands in when a test payload has no event_id.
  return stringOrNull(body.event_id) ?? (fr ? stringOrNull(fr.token) : null);
}

export const typeformAdapter = defineAdapter({
  authSchemes: SIGNATURE_SCHEMES,
  contentTypes: ["application/json"],
  acceptsGet: false,
  providerEventId(req) {
    const body = parseJsonObject(req.body);
    return eventId(body, isObject(body.form_response) ? body.form_response : undefined);
  },
  parse(req, source) {
    const body = parseJsonObject(req.body);
    const fr = formResponse(body);
    const definition = isObject(fr.definition) ? fr.definition : {};
    return buildEvent(source, {
      formId: stringOrNull(fr.form_id) ?? stringOrNull(definition.id),
      providerEventId: eventId(body, fr),
      submittedAt: toIsoTimestamp(fr.submitted_at ?? fr.landed_at, req.now),
      answers: typeformAnswers(fr),
    });
  },
});
