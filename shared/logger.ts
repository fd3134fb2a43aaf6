// pino with patient data and secrets redacted: these paths never reach a log line.
import pino, { type Logger } from "pino";

export type { Logger };

export const REDACT_PATHS = [
  "patient", "*.patient", "answers", "*.answers", "body", "*.body",
  "email", "*.email", "phone", "*.phone", "firstName", "*.firstName", "lastName", "*.lastName",
  "fullName", "*.fullName", "dateOfBirth", "*.dateOfBirth", "street", "*.street",
  "headers.authorization", "*.headers.authorization", "secret", "*.secret", "token", "*.token",
  "password", "*.password", "databaseUrl", "redisUrl",
  // Database errors can quote row values in these fields.
  "err.detail", "err.where", "err.parameters", "err.query", "*.err.detail", "*.err.parameters",
];

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
