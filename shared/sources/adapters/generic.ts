// generic: any sender that signs. Standard Webhooks by default; sources may select the
// GitHub (`X-Hub-Signature-256`) or Stripe (`t=...,v1=...`) schemes instead. The payload
// is JSON; answers are the key/values of `data` when present (the Standard Webhooks
// envelope), else of the body, nested objects and arrays flattened to dotted paths
// (flatten.ts: "patient.name.first").
import { isObject, type JsonObject, parseJsonObject, stringOrNull, toIsoTimestamp } from "../body.ts";
import { buildEvent } from "../event.ts";
import { flattenAnswers } from "../flatten.ts";
import type { Answer, RawRequest, SourceConfig } from "../types.ts";
import { defineAdapter, SIGNATURE_SCHEMES } from "./define.ts";

/** A provider id inside the body, for schemes whose headers carry none. */
function bodyEventId(body: JsonObject): string | null {
  return stringOrNull(body.id) ?? stringOrNull(body.event_id) ?? stringOrNull(body.eventId);
}

/**
 * The delivery headers the source's scheme signs. Standard Webhooks signs `webhook-id`
 * and `webhook-timestamp` with the body (the ingress checked that timestamp against its
 * tolerance). The github scheme signs only the body, stripe the body and its t= (which
 * the ingress checked lies within the tolerance of receipt, and which is not kept for
 * parsing): any other header, X-GitHub-Delivery included, is whatever someone replaying
 * a captured body chose, so none of them names or dates the event.
 */
export function signedDelivery(req: RawRequest, source: SourceConfig): { id: string | null; timestampMs?: number } {
  if (source.auth.scheme !== "standard-webhooks") return { id: null };
  const ts = req.headers["webhook-timestamp"];
  return {
    id: req.headers["webhook-id"] ?? null,
    ...(ts && /^\d{1,12}$/.test(ts) ? { timestampMs: Number(ts) * 1000 } : {}),
  };
}

// Envelope keys of a flat body: about the delivery, not answers.
const META_KEYS = new Set([
  "formId",
  "form_id",
  "timestamp",
  "type",
  "id",
  "event_id",
  "eventId",
  "created_at",
  "created",
]);

export const genericAdapter = defineAdapter({
  authSchemes: SIGNATURE_SCHEMES,
  contentTypes: ["application/json"],
  acceptsGet: false,
  providerEventId(req, auth) {
    const body = parseJsonObject(req.body);
    // Standard Webhooks carries the signed webhook-id; under other schemes only the body
    // is signed: its id, else null (the ingress then hashes the body).
    return auth.eventId ?? bodyEventId(body);
  },
  parse(req, source) {
    const body = parseJsonObject(req.body);
    const enveloped = isObject(body.data);
    const data = enveloped ? (body.data as JsonObject) : body;
    const answers: Answer[] = flattenAnswers(Object.entries(data).filter(([key]) => enveloped || !META_KEYS.has(key)));
    const formId = stringOrNull(body.formId) ?? stringOrNull(data.formId) ?? stringOrNull(body.form_id);
    const signed = signedDelivery(req, source);
    const submittedAt = toIsoTimestamp(body.timestamp ?? body.created_at ?? body.created, req.now, signed.timestampMs);
    // signed.id is set only under Standard Webhooks (its signed webhook-id); otherwise the body's id.
    const providerEventId = signed.id ?? bodyEventId(body);
    return buildEvent(source, { formId, providerEventId, submittedAt, answers });
  },
});
