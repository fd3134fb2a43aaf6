// Headers for a service that serves a browser page and patient data (the dashboard).
import { Elysia } from "elysia";

/**
 * The page loads only its own script and style (no inline code, so injected markup cannot
 * run), cannot be framed (clickjacking), sends no Referer, and nothing it answers is kept
 * by a browser or proxy cache: patients' data is in the API's answers and the preview's.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; "),
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/**
 * Adds SECURITY_HEADERS to every response of the app it is used in, errors and unknown
 * routes included: set at request start, Elysia merges them into whatever answers (a route's
 * own value of the same header wins).
 */
export function securityHeaders() {
  return new Elysia({ name: "security-headers" }).onRequest(({ set }) => {
    Object.assign(set.headers, SECURITY_HEADERS);
  });
}
