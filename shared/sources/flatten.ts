// Nested answers → flat answers. Generic senders (and HeyFlow's simple payload, when a block
// sends an object) nest answers at any depth: { patient: { name: { first } } }. Each leaf
// becomes one answer labelled by its path ("patient.name.first"), which the label matcher
// reads segment by segment (labels.ts). Nothing is dropped: a subtree deeper than MAX_DEPTH,
// or beyond MAX_LEAVES, stays one answer holding the object as sent.
import { isObject, type JsonObject } from "./body.ts";
import type { Answer } from "./types.ts";

// Deep enough for any form payload (FHIR resources nest about five levels); a hostile body
// nesting 100,000 levels costs a walk of MAX_DEPTH levels, without recursion.
const MAX_DEPTH = 32;
// A payload with more leaves keeps the rest as whole objects (it is no patient form).
const MAX_LEAVES = 10_000;

// Keys of an object that is one question and its answer ({ question, answer }), not a group.
// `system` is FHIR's ContactPoint: { system: "phone", value: "+49…" }.
const QUESTION_KEYS = ["question", "label", "title", "name", "key", "field", "system"];
const ANSWER_KEYS = ["answer", "value", "response", "values"];

/** `{ question: "Vorname", answer: "Jonas" }` → that pair; anything else → undefined. */
function questionPair(obj: JsonObject): { label: string; value: unknown } | undefined {
  const keys = Object.keys(obj);
  if (keys.length > 4) return undefined;
  const q = QUESTION_KEYS.find((k) => typeof obj[k] === "string" && obj[k] !== "");
  const a = ANSWER_KEYS.find((k) => k in obj);
  if (!q || !a) return undefined;
  const value = obj[a];
  // An answer that is itself a group is no pair ({ name: "x", value: { ... } } stays nested).
  if (isObject(value)) return undefined;
  return { label: obj[q] as string, value };
}

/** Arrays of plain values are one answer (a multi-select); arrays holding objects are groups. */
const isLeafList = (value: unknown[]) => value.every((v) => v === null || typeof v !== "object");

/**
 * The answers of `entries` (top-level key → value), nested objects and arrays flattened to
 * dotted paths. Top-level keys keep their label as written.
 */
export function flattenAnswers(entries: Iterable<[string, unknown]>): Answer[] {
  const answers: Answer[] = [];
  // Depth-first with an explicit stack (in reverse, so answers keep the payload's order).
  const stack: { path: string[]; value: unknown; depth: number }[] = [];
  const pushChildren = (path: string[], value: unknown, depth: number) => {
    const children: [string, unknown][] = Array.isArray(value)
      ? value.map((v, i) => [String(i), v])
      : Object.entries(value as JsonObject);
    for (let i = children.length - 1; i >= 0; i--) {
      const [key, child] = children[i]!;
      stack.push({ path: [...path, key], value: child, depth });
    }
  };
  pushChildren([], Object.fromEntries(entries), 0);
  while (stack.length > 0) {
    const { path, value, depth } = stack.pop()!;
    const nested = isObject(value) || (Array.isArray(value) && !isLeafList(value));
    if (!nested || depth >= MAX_DEPTH || answers.length >= MAX_LEAVES) {
      // A top-level key is a label as written; a nested one keeps its path for the matcher.
      answers.push(path.length === 1 ? { label: path[0]!, value } : { label: path.join("."), value, path });
      continue;
    }
    const pair = isObject(value) ? questionPair(value) : undefined;
    if (pair) {
      answers.push({ label: pair.label, value: pair.value });
      continue;
    }
    pushChildren(path, value, depth + 1);
  }
  return answers;
}
