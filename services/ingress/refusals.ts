// Every refusal the webhook route answers with, by code: its status and when it happens. The
// handler (webhook.ts, app.ts) answers through `refuse`, and the OpenAPI document (openapi.ts)
// lists the same table, so a code cannot be answered with one status and documented with another.
import { SIGNATURE_FAILURE_CODES } from "../../shared/crypto/result.ts";
import { errorResponse } from "../../shared/http/errors.ts";
import { UNSUPPORTED_AUTH } from "../../shared/sources/adapters/define.ts";
import { BODY_TIMEOUT_MS } from "./body.ts";

interface Refusal {
  status: 400 | 401 | 403 | 404 | 405 | 413 | 415 | 429 | 503;
  when: string;
  /** Answered with a Retry-After header (seconds). */
  retryAfter?: true;
}

export const WEBHOOK_REFUSALS = {
  unreadable_body: {
    status: 400,
    when: `the sender went away or broke the framing before the body's end, or the body did not arrive whole within ${BODY_TIMEOUT_MS / 1000} s`,
  },
  unparseable_body: {
    status: 400,
    when: "authenticated, but the body cannot be parsed at all: kept in WEBHOOKS_DLQ with the reason first",
  },
  source_disabled: {
    status: 403,
    when: "the source was disabled in the dashboard (403, not 404: it may be enabled again)",
  },
  ip_not_allowed: { status: 403, when: "the sender's address is not on the source's allow-list" },
  unknown_source: {
    status: 404,
    when: "no source has this id (a configured source never answers 404: Typeform disables a webhook after one)",
  },
  method_not_allowed: {
    status: 405,
    when: "a method the source does not accept (webhooks are POSTed; HeyFlow may GET)",
  },
  body_too_large: { status: 413, when: "the body (declared or as read) exceeds the source's limit" },
  unsupported_media_type: { status: 415, when: "the Content-Type is not one the source accepts" },
  rate_limited: { status: 429, when: "the source's rate limit is used up", retryAfter: true },
  source_unavailable: {
    status: 503,
    when: "a source created at runtime that this pod cannot open yet (its record did not open: no HOOKLINE_KEYS here, or a key it lacks), or any source this pod does not know while its runtime sources are not loaded (at start, or while its watch of them is set up again)",
    retryAfter: true,
  },
  queue_unavailable: { status: 503, when: "JetStream is unreachable or did not confirm storage", retryAfter: true },
  queue_full: { status: 503, when: "the WEBHOOKS stream is at its limits", retryAfter: true },
  overloaded: {
    status: 503,
    when: "too many webhooks in flight (MAX_IN_FLIGHT); shed before the body is read",
    retryAfter: true,
  },
} as const satisfies Record<string, Refusal>;

export type RefusalCode = keyof typeof WEBHOOK_REFUSALS;

/** 401: the codes of a failed signature or token check (shared/crypto/result.ts, shared/sources/adapters/define.ts). */
export const AUTH_FAILURE_CODES: readonly string[] = [...SIGNATURE_FAILURE_CODES, UNSUPPORTED_AUTH];

/** The JSON error (shared/http/errors.ts) for `code`, with the table's status. */
export function refuse(code: RefusalCode, message: string, headers?: Record<string, string>): Response {
  return errorResponse(WEBHOOK_REFUSALS[code].status, code, message, headers);
}
