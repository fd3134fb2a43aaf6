// heyflow: HeyFlow has no signatures, so it authenticates with a shared token. Its
// webhook payload comes in several shapes depending on the integration and its version;
// the shape is detected, never configured:
//   (a) object   { flowID, id, createdAt, fields: { "<system label>": value } }
//   (b) choices  { flowId, id, created, fields: [{ label, variable, id, values: [{ label, id }] }] }
//   (c) scalar   the same array, each entry with `value`
//   (d) flat     key/values, form-encoded (a GET's query string becomes such a body at the
//                ingress) or a flat JSON object
import { isObject, type JsonObject, parseBody, stringOrNull, toIsoTimestamp } from "../body.ts";
import { buildEvent } from "../event.ts";
import { flattenAnswers } from "../flatten.ts";
import { AdapterError, type Answer, type RawRequest, type SourceConfig } from "../types.ts";
import { defineAdapter } from "./define.ts";

export type HeyflowShape = "object" | "array-values" | "array-value" | "flat";

interface Parsed {
  shape: HeyflowShape;
  formId: string | null;
  eventId: string | null;
  created: unknown;
  answers: Answer[];
}

// Delivery metadata in a flat body; everything else is an answer.
const FLAT_META = new Set(["flowID", "flowId", "flow_id", "id", "responseId", "createdAt", "created"]);

function arrayAnswer(entry: JsonObject, index: number): Answer {
  const variable = stringOrNull(entry.variable) ?? undefined;
  const id = stringOrNull(entry.id) ?? undefined;
  let value: unknown;
  if (Array.isArray(entry.values)) {
    const labels = entry.values
      .map((v) => (isObject(v) ? (v.label ?? v.value ?? v.id) : v))
      .filter((v) => v !== undefined && v !== null);
    // One selected option reads as that option; several stay a list (multi-select).
    value = labels.length === 1 ? labels[0] : labels;
  } else value = entry.value ?? null;
  return {
    label: stringOrNull(entry.label) ?? variable ?? id ?? `field ${index + 1}`,
    value,
    ...(id ? { fieldId: id } : {}),
    ...(variable ? { ref: variable } : {}),
    ...(typeof entry.type === "string" ? { fieldType: entry.type } : {}),
  };
}

export function detectHeyflowShape(body: JsonObject): HeyflowShape {
  if (Array.isArray(body.fields))
    return body.fields.some((f) => isObject(f) && Array.isArray(f.values)) ? "array-values" : "array-value";
  if (isObject(body.fields)) return "object";
  return "flat";
}

function parseHeyflow(req: RawRequest, source: SourceConfig | undefined): Parsed {
  const body = parseBody(req);
  const tokenParam = source?.auth.scheme === "token" ? source.auth.queryParam : undefined;
  if (body.kind === "form") {
    const answers: Answer[] = [];
    for (const [key, value] of body.data) {
      if (FLAT_META.has(key) || key === tokenParam) continue;
      answers.push({ label: key, value });
    }
    if (answers.length === 0)
      throw new AdapterError("unparseable_body", "form-encoded HeyFlow body (or GET query) holds no answers");
    const get = (k: string) => {
      const v = body.data.get(k);
      return typeof v === "string" ? v : undefined;
    };
    return {
      shape: "flat",
      formId: stringOrNull(get("flowID") ?? get("flowId") ?? get("flow_id")),
      eventId: stringOrNull(get("id") ?? get("responseId")),
      created: get("createdAt") ?? get("created"),
      answers,
    };
  }
  const data = body.data;
  const shape = detectHeyflowShape(data);
  let answers: Answer[];
  // A block may answer with an object (a name or address block): its parts become answers
  // labelled by path ("Adresse.PLZ"), see flatten.ts.
  if (shape === "object") {
    answers = flattenAnswers(Object.entries(data.fields as JsonObject));
  } else if (shape === "flat") {
    answers = flattenAnswers(Object.entries(data).filter(([key]) => !FLAT_META.has(key) && key !== tokenParam));
    if (answers.length === 0)
      throw new AdapterError("unparseable_body", "HeyFlow payload has neither `fields` nor any answer keys");
  } else {
    answers = (data.fields as unknown[]).filter(isObject).map(arrayAnswer);
  }
  return {
    shape,
    formId: stringOrNull(data.flowID) ?? stringOrNull(data.flowId) ?? stringOrNull(data.flow_id),
    eventId: stringOrNull(data.id) ?? stringOrNull(data.responseId),
    created: data.createdAt ?? data.created,
    answers,
  };
}

export const heyflowAdapter = defineAdapter({
  // HeyFlow cannot sign: a shared token, in a header, HTTP Basic or the URL.
  authSchemes: ["token"],
  contentTypes: ["application/json", "application/x-www-form-urlencoded"],
  // A HeyFlow redirect-style webhook sends the answers as a GET query.
  acceptsGet: true,
  providerEventId(req) {
    return parseHeyflow(req, undefined).eventId;
  },
  parse(req, source) {
    const parsed = parseHeyflow(req, source);
    return buildEvent(source, {
      formId: parsed.formId,
      providerEventId: parsed.eventId,
      submittedAt: toIsoTimestamp(parsed.created, req.now),
      answers: parsed.answers,
    });
  },
});
