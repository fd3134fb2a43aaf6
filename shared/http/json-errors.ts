import { Elysia } from "elysia";
import { errorSummary, type Logger } from "../logger.ts";
import { errorResponse } from "./errors.ts";

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
    log.error({ err: errorSummary(error) }, "unhandled error");
    return errorResponse(500, "internal_error", "internal error");
  });
}
