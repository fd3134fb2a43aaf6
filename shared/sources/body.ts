// Body decoding shared by the adapters. Pure: bytes + content type in, plain data out.
// Failures raise AdapterError("unparseable_body") with a message that names the problem
// but never quotes the body (it holds patient data).
import { AdapterError, type RawRequest } from "./types.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Media type without parameters, lower-cased ("application/json; charset=utf-8" → "application/json"). */
export function mediaType(req: Pick<RawRequest, "headers">): string {
  return (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
}

function decodeText(body: Uint8Array): string {
  try {
    return decoder.decode(body);
  } catch {
    throw new AdapterError("unparseable_body", "body is not valid UTF-8");
  }
}

export function parseJsonObject(body: Uint8Array): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeText(body));
  } catch (error) {
    if (error instanceof AdapterError) throw error;
    // No `cause`: the parser's message quotes the body (patient data), and causes get logged.
    throw new AdapterError("unparseable_body", "body is not valid JSON");
  }
  if (!isObject(parsed)) throw new AdapterError("unparseable_body", "body must be a JSON object");
  return parsed;
}

/**
 * application/x-www-form-urlencoded → ordered entries. Repeated keys (checkbox groups,
 * `a[]=x&a[]=y`) become arrays so multi-select answers survive.
 */
export function parseFormEncoded(body: Uint8Array): Map<string, string | string[]> {
  const params = new URLSearchParams(decodeText(body));
  const out = new Map<string, string | string[]>();
  for (const [rawKey, value] of params) {
    const key = rawKey.endsWith("[]") ? rawKey.slice(0, -2) : rawKey;
    const prev = out.get(key);
    if (prev === undefined) out.set(key, rawKey.endsWith("[]") ? [value] : value);
    // Appended in place: copying the list on every repeat was quadratic (1 MiB of `a=1&` took minutes).
    else if (Array.isArray(prev)) prev.push(value);
    else out.set(key, [prev, value]);
  }
  return out;
}

/**
 * JSON or form body by content type; when the type is missing or unknown, sniff: a body
 * starting with `{` is JSON, otherwise form-encoded (a GET turned into a body has no type).
 */
export function parseBody(
  req: Pick<RawRequest, "headers" | "body">,
): { kind: "json"; data: JsonObject } | { kind: "form"; data: Map<string, string | string[]> } {
  const type = mediaType(req);
  if (type === "application/json" || type.endsWith("+json")) return { kind: "json", data: parseJsonObject(req.body) };
  if (type === "application/x-www-form-urlencoded") return { kind: "form", data: parseFormEncoded(req.body) };
  const text = decodeText(req.body).trimStart();
  if (text.startsWith("{")) return { kind: "json", data: parseJsonObject(req.body) };
  return { kind: "form", data: parseFormEncoded(req.body) };
}

/**
 * How far from our receipt time a provider's own timestamp is believed. `submittedAt`
 * decides which submission's values a patient record keeps ("later wins"), so a time in
 * the future would freeze the record against every genuine later submission, and one
 * long past would make a fresh submission lose to stale data. Ahead of receipt only
 * clock skew is allowed (the 5 minutes Standard Webhooks and Stripe tolerate); behind,
 * a year covers retries, queued deliveries and sheet re-sends. A time further back is
 * moved to the window's edge rather than to receipt time: it stays old, so a replayed or
 * back-filled submission never wins over newer data. Ahead, or none at all: receipt time.
 */
export const PROVIDER_TIME_WINDOW = { maxAheadMs: 5 * 60_000, maxBehindMs: 365 * 86_400_000 } as const;

function withinWindow(ms: number, receivedMs: number): boolean {
  return ms <= receivedMs + PROVIDER_TIME_WINDOW.maxAheadMs && ms >= receivedMs - PROVIDER_TIME_WINDOW.maxBehindMs;
}

/**
 * A provider timestamp → epoch ms: ISO strings, unix seconds or milliseconds (number or digit
 * string); undefined when none.
 */
function timestampMs(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) {
    const ms = value < 1e11 ? value * 1000 : value;
    // Outside what a Date holds (±8.64e15 ms), e.g. 1e20: no time at all.
    return Math.abs(ms) <= 8.64e15 ? ms : undefined;
  }
  // No timestamp is longer than this ("2024-03-15T10:22:11.123456789+01:00" is 35).
  if (typeof value === "string" && value.length <= 64 && value.trim() !== "") {
    const text = value.trim();
    if (/^\d{9,13}$/.test(text)) return timestampMs(Number(text));
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
  }
  return undefined;
}

/**
 * The submission time as an ISO string: the provider's `value` when it lies within
 * PROVIDER_TIME_WINDOW of `receivedMs`, else `fallbackMs` (a signed delivery time, when
 * the scheme has one) when that does, else the window's earliest instant for a time
 * before it, else the receipt time.
 */
export function toIsoTimestamp(value: unknown, receivedMs: number, fallbackMs?: number): string {
  const ms = timestampMs(value);
  if (ms !== undefined && withinWindow(ms, receivedMs)) return new Date(ms).toISOString();
  if (fallbackMs !== undefined && withinWindow(fallbackMs, receivedMs)) return new Date(fallbackMs).toISOString();
  const earliest = receivedMs - PROVIDER_TIME_WINDOW.maxBehindMs;
  if (ms !== undefined && ms < earliest) return new Date(earliest).toISOString();
  return new Date(receivedMs).toISOString();
}

export function stringOrNull(value: unknown): string | null {
  if (typeof value === "string" && value.trim() !== "") return value.trim();
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return null;
}
