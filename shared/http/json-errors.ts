import { Elysia } from "elysia";
import postgres from "postgres";
import { EnvelopeError } from "../crypto/envelope.ts";
import { errorSummary, type Logger } from "../logger.ts";
import { errorResponse } from "./errors.ts";

/**
 * Postgres refused a text value it cannot hold (SQLSTATE 22021), or a JSON one (22P05: jsonb
 * takes no \u0000). A JavaScript string always encodes to valid UTF-8, so that is a NUL character,
 * and stored text never holds one (Postgres refused it): it came with the request (`?q=%00`, a
 * field mapping's key), which is the client's error, not ours.
 */
function isUnstorableText(error: unknown): boolean {
  return error instanceof postgres.PostgresError && (error.code === "22021" || error.code === "22P05");
}

/**
 * Every error a route throws becomes the JSON error contract. Registered globally and
 * first, so it covers routes of every plugin. Unexpected errors are logged by code and
 * message only: a database error's detail can quote row values (patient data).
 */
export function jsonErrors(log: Logger) {
  return new Elysia({ name: "json-errors" }).onError({ as: "global" }, ({ code, error }) => {
    if (code === "NOT_FOUND") return errorResponse(404, "not_found", "no such route");
    if (code === "PARSE") return errorResponse(400, "unparseable_body", "the request body could not be parsed");
    if (code === "VALIDATION") return errorResponse(400, "invalid_request", "the request is not valid");
    if (isUnstorableText(error))
      return errorResponse(
        400,
        "invalid_request",
        "the request holds a character that cannot be stored or searched for (NUL)",
      );
    if (error instanceof EnvelopeError && error.code === "unknown_key") {
      // Sealed under a data key this process was not given (a rotation it was not rolled for):
      // the operator's to fix, not a fault in the request, and it says which key.
      log.error({ err: errorSummary(error) }, "a sealed value's key is not in this service's HOOKLINE_KEYS");
      return errorResponse(
        503,
        "key_unavailable",
        "stored data is sealed under a key this service was not given (HOOKLINE_KEYS); retry once it has it",
        { "retry-after": "30" },
      );
    }
    log.error({ err: errorSummary(error) }, "unhandled error");
    return errorResponse(500, "internal_error", "internal error");
  });
}
