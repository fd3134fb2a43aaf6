// pino with patient data and secrets redacted: these paths never reach a log line.
import pino, { type Logger } from "pino";
import { SENSITIVE_FIELDS } from "./patient-fields.ts";

export type { Logger };

/** Each sensitive canonical field (shared/patient-fields.ts, the one table), at the top level and one level down. */
const PATIENT_FIELD_PATHS = SENSITIVE_FIELDS.flatMap((f) => [f.name, `*.${f.name}`]);

const REDACT_PATHS = [
  ...PATIENT_FIELD_PATHS,
  // Whole payloads and records: hold every field, under any label.
  "patient",
  "*.patient",
  "answers",
  "*.answers",
  "body",
  "*.body",
  "headers.authorization",
  "*.headers.authorization",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "password",
  "*.password",
  "databaseUrl",
  "redisUrl",
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

export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: service,
      level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
