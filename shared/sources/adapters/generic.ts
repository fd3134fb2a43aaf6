// generic: any sender speaking Standard Webhooks. The payload is JSON; answers are the
// key/values of `data` when present (the Standard Webhooks envelope), else of the body.
import { verifyStandardWebhook } from "../../crypto/standard-webhooks.ts";
import { mapAnswers } from "../mapper.ts";
import { AdapterError, type Answer, type AuthResult, type RawRequest, type SourceAdapter, type SourceConfig } from "../types.ts";

const decoder = new TextDecoder();

function parseJsonObject(body: Uint8Array): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(body));
  } catch {
    throw new AdapterError("unparseable_body", "body is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new AdapterError("unparseable_body", "body must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}

export function authenticateGeneric(req: RawRequest, source: SourceConfig): AuthResult {
  const auth = source.auth;
  if (auth.scheme !== "standard-webhooks") {
    return { ok: false, code: "unsupported_auth", message: `auth scheme ${auth.scheme} is not supported by this adapter` };
  }
  const result = verifyStandardWebhook(
    { id: req.headers["webhook-id"], timestamp: req.headers["webhook-timestamp"], signature: req.headers["webhook-signature"] },
    req.body,
    auth.secrets,
    req.now,
    auth.toleranceSeconds,
  );
  return result.ok ? { ok: true, eventId: result.id } : result;
}

export const genericAdapter: SourceAdapter = {
  type: "generic",
  authenticate: authenticateGeneric,
  providerEventId(req, auth) {
    parseJsonObject(req.body);
    return auth.eventId ?? null;
  },
  parse(req, source) {
    const body = parseJsonObject(req.body);
    const data = body.data && typeof body.data === "object" && !Array.isArray(body.data) ? (body.data as Record<string, unknown>) : body;
    const answers: Answer[] = Object.entries(data).map(([label, value]) => ({ label, value }));
    const formId = typeof body.formId === "string" ? body.formId : typeof data.formId === "string" ? data.formId : null;
    const ts = req.headers["webhook-timestamp"];
    const submittedAt =
      typeof body.timestamp === "string" && !Number.isNaN(Date.parse(body.timestamp))
        ? new Date(body.timestamp).toISOString()
        : new Date(ts ? Number(ts) * 1000 : req.now).toISOString();
    const { patient, confidence } = mapAnswers(answers, source, formId);
    return { source: source.id, formId, providerEventId: req.headers["webhook-id"] ?? null, submittedAt, answers, patient, confidence };
  },
};
