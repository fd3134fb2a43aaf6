// google-forms: posts from an Apps Script "On form submit" trigger (ops/google-forms/Code.gs),
// signed with Standard Webhooks. Shapes, detected:
//   (a) answers     { formId, responseId, timestamp, answers: [{ title, response }] }   (our Code.gs)
//   (b) namedValues { "Question": ["answer"], ... } or { namedValues: {...}, formId?, ... }
//                   (a sheet-bound trigger's e.namedValues, forwarded as is)
//   (c) form-encoded: UrlFetchApp's default when `payload` is an object and no contentType
//                   is set. Values are strings then: a key `payload`, `answers` or
//                   `namedValues` holding JSON is unpacked into (a)/(b); otherwise the
//                   key/values are the answers themselves.
import { isObject, type JsonObject, parseBody, stringOrNull, toIsoTimestamp } from "../body.ts";
import { buildEvent } from "../event.ts";
import { normalizeDate } from "../normalize.ts";
import { AdapterError, type Answer, type DateOrder, type RawRequest } from "../types.ts";
import { defineAdapter, SIGNATURE_SCHEMES } from "./define.ts";
import { signedDelivery } from "./generic.ts";

type GoogleFormsShape = "answers" | "namedValues" | "flat";

interface Parsed {
  shape: GoogleFormsShape;
  formId: string | null;
  responseId: string | null;
  timestamp: unknown;
  answers: Answer[];
}

const META = new Set([
  "formId",
  "responseId",
  "timestamp",
  "namedValues",
  "answers",
  "payload",
  "range",
  "triggerUid",
  "authMode",
  "source",
  "values",
]);
// A sheet-bound response carries the spreadsheet's own "Timestamp" column: the submission
// time, not an answer (and not a date of birth for the shape detector).
const SHEET_TIMESTAMP = new Set([
  "timestamp",
  "zeitstempel",
  "horodateur",
  "marca temporal",
  "informazioni cronologiche",
]);

/** Single-item arrays (every namedValues entry) read as their item. */
function unwrap(value: unknown): unknown {
  return Array.isArray(value) && value.length === 1 ? value[0] : value;
}

function tryJson(text: unknown): unknown {
  if (typeof text !== "string") return undefined;
  const t = text.trim();
  if (!t.startsWith("{") && !t.startsWith("[")) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

function fromAnswers(body: JsonObject, list: unknown[]): Parsed {
  const answers: Answer[] = [];
  list.forEach((item, i) => {
    if (!isObject(item)) return;
    const title = stringOrNull(item.title) ?? stringOrNull(item.question) ?? `question ${i + 1}`;
    const id = stringOrNull(item.id) ?? stringOrNull(item.itemId) ?? undefined;
    answers.push({
      label: title,
      value: item.response ?? item.answer ?? item.value ?? null,
      ...(id ? { fieldId: id } : {}),
      ...(typeof item.type === "string" ? { fieldType: item.type.toLowerCase() } : {}),
    });
  });
  return {
    shape: "answers",
    formId: stringOrNull(body.formId),
    responseId: stringOrNull(body.responseId),
    timestamp: body.timestamp,
    answers,
  };
}

function fromNamedValues(_body: JsonObject, named: JsonObject, sheetTimestamp: { value?: unknown }): Answer[] {
  const answers: Answer[] = [];
  for (const [label, value] of Object.entries(named)) {
    if (SHEET_TIMESTAMP.has(label.trim().toLowerCase())) {
      sheetTimestamp.value = unwrap(value);
      continue;
    }
    answers.push({ label, value: unwrap(value) });
  }
  return answers;
}

/** "15.03.2024 10:22:11" / "3/15/2024 10:22:11" (a sheet's locale format) → ISO, best effort. */
function sheetTimestampToIso(value: unknown, order: DateOrder): unknown {
  // Longer is no sheet timestamp; toIsoTimestamp then falls back to the receipt time.
  if (typeof value !== "string" || value.length > 64) return value;
  const m = /^(\S+)\s+(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return value;
  const date = normalizeDate(m[1], order);
  // The sheet's time zone is unknown here; UTC is the honest default (documented).
  return date ? `${date}T${m[2]!.padStart(2, "0")}:${m[3]}:${m[4] ?? "00"}Z` : value;
}

function fromObject(body: JsonObject, order: DateOrder): Parsed {
  if (Array.isArray(body.answers)) return fromAnswers(body, body.answers);
  const named = isObject(body.namedValues) ? body.namedValues : undefined;
  const sheet: { value?: unknown } = {};
  if (named) {
    const answers = fromNamedValues(body, named, sheet);
    return {
      shape: "namedValues",
      formId: stringOrNull(body.formId),
      responseId: stringOrNull(body.responseId),
      timestamp: body.timestamp ?? sheetTimestampToIso(sheet.value, order),
      answers,
    };
  }
  const plain: JsonObject = {};
  for (const [k, v] of Object.entries(body)) if (!META.has(k)) plain[k] = v;
  const answers = fromNamedValues(body, plain, sheet);
  if (answers.length === 0)
    throw new AdapterError(
      "unparseable_body",
      "Google Forms payload has no answers (expected `answers`, `namedValues` or question keys)",
    );
  const arrays = Object.values(plain).some(Array.isArray);
  return {
    shape: arrays ? "namedValues" : "flat",
    formId: stringOrNull(body.formId),
    responseId: stringOrNull(body.responseId),
    timestamp: body.timestamp ?? sheetTimestampToIso(sheet.value, order),
    answers,
  };
}

export function parseGoogleForms(req: Pick<RawRequest, "headers" | "body">, order: DateOrder = "DMY"): Parsed {
  const body = parseBody(req);
  if (body.kind === "json") return fromObject(body.data, order);
  const flat: JsonObject = {};
  for (const [k, v] of body.data) flat[k] = v;
  // UrlFetchApp form-encodes an object payload: nested values arrive as strings. JSON in
  // them is unpacked; "[object Object]" means the script forgot JSON.stringify.
  for (const key of ["payload", "answers", "namedValues"]) {
    const value = flat[key];
    if (typeof value === "string" && value.includes("[object Object]")) {
      throw new AdapterError(
        "unparseable_body",
        `form-encoded field \`${key}\` holds "[object Object]": ` +
          'in Apps Script send JSON.stringify(payload) with contentType "application/json"',
      );
    }
    const parsed = tryJson(value);
    if (key === "payload" && isObject(parsed)) return fromObject({ ...flat, ...parsed, payload: undefined }, order);
    if (key !== "payload" && parsed !== undefined) return fromObject({ ...flat, [key]: parsed }, order);
  }
  return fromObject(flat, order);
}

export const googleFormsAdapter = defineAdapter({
  // Apps Script signs with Standard Webhooks (ops/google-forms/Code.gs); other signers work too.
  authSchemes: SIGNATURE_SCHEMES,
  contentTypes: ["application/json", "application/x-www-form-urlencoded"],
  acceptsGet: false,
  providerEventId(req, auth) {
    const parsed = parseGoogleForms(req);
    return auth.eventId ?? parsed.responseId;
  },
  parse(req, source) {
    const parsed = parseGoogleForms(req, source.dateOrder);
    // Delivery headers only where the scheme signs them (see signedDelivery).
    const signed = signedDelivery(req, source);
    return buildEvent(source, {
      formId: parsed.formId,
      providerEventId: signed.id ?? parsed.responseId,
      submittedAt: toIsoTimestamp(parsed.timestamp, req.now, signed.timestampMs),
      answers: parsed.answers,
    });
  },
});
