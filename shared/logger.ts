// pino JSON with patient data and secrets redacted (these paths never reach a log line), and
// on every line the ids that tie it to the rest: trace_id and span_id of the active span (a
// line written while a request or batch is traced), and request_id inside an HTTP request.
import { isSpanContextValid, trace } from "@opentelemetry/api";
import pino, { type Logger } from "pino";
import { SENSITIVE_FIELDS } from "./patient-fields.ts";

export type { Logger };

/** Each sensitive canonical field (shared/patient-fields.ts, the one table), at the top level and one level down. */
const PATIENT_FIELD_PATHS = SENSITIVE_FIELDS.flatMap((f) => [f.name, `*.${f.name}`]);

/** Request headers that carry a credential or a signature over the body (docs/sources.md schemes). */
const SECRET_HEADERS = [
  "authorization",
  "cookie",
  "set-cookie",
  "proxy-authorization",
  "x-api-key",
  "x-webhook-token",
  "webhook-signature",
  "typeform-signature",
  "x-hub-signature",
  "x-hub-signature-256",
  "stripe-signature",
];

const REDACT_PATHS = [
  ...PATIENT_FIELD_PATHS,
  // Whole payloads and records: hold every field, under any label.
  "patient",
  "*.patient",
  "answers",
  "*.answers",
  "body",
  "*.body",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "password",
  "*.password",
  "databaseUrl",
  "redisUrl",
  // Credentials under other names: request headers that carry them (any level a headers object
  // is logged at), cookies, the dashboard's tokens, connection URLs (user:password@), keyrings.
  ...SECRET_HEADERS.flatMap((h) => [`headers["${h}"]`, `*.headers["${h}"]`]),
  "authorization",
  "*.authorization",
  "cookie",
  "*.cookie",
  "apiTokens",
  "*.apiTokens",
  "healthTokens",
  "natsUrl",
  "*.databaseUrl",
  "*.redisUrl",
  "dataKeys",
  "blindIndexKeys",
  // A query string can hold a source's URL token, and a HeyFlow GET's answers.
  "query",
  "*.query",
  // Raw payloads, decoded or not, under the other names they go by.
  "payload",
  "*.payload",
  "canonical",
  "*.canonical",
  "rawBody",
  "*.rawBody",
  // Database errors can quote row values in these fields.
  "err.detail",
  "err.where",
  "err.parameters",
  "err.query",
  "*.err.detail",
  "*.err.parameters",
];

/**
 * What a log line may say about an error: its code and message, never a database error's
 * detail, which can quote row values (patient data).
 */
export function errorSummary(error: unknown): { code?: string; message: string } {
  const e = error as { code?: unknown; message?: unknown } | null;
  return { code: e?.code === undefined ? undefined : String(e.code), message: String(e?.message ?? error) };
}

export interface LoggerOptions {
  /** The current HTTP request's id (shared/http/request-id.ts), written as request_id. */
  requestId?: () => string | undefined;
}

/** What every line carries besides its own fields: the active span's ids and the request id. */
function correlation(options: LoggerOptions): () => Record<string, string> {
  return () => {
    const fields: Record<string, string> = {};
    const span = trace.getActiveSpan()?.spanContext();
    if (span && isSpanContextValid(span)) {
      fields.trace_id = span.traceId;
      fields.span_id = span.spanId;
    }
    const requestId = options.requestId?.();
    if (requestId) fields.request_id = requestId;
    return fields;
  };
}

export function createLogger(
  service: string,
  level: string,
  destination?: pino.DestinationStream,
  options: LoggerOptions = {},
): Logger {
  return pino(
    {
      name: service,
      level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: correlation(options),
    },
    destination,
  );
}
