// Turns a JetStream message back into the request the ingress saw, and runs the
// source's adapter over it. Deterministic: a message that fails here always will.
import type { JsMsg } from "@nats-io/jetstream";
import { H, messageSource } from "../../shared/nats.ts";
import {
  AdapterError,
  type CanonicalEvent,
  getAdapter,
  type RawRequest,
  type SourceConfig,
} from "../../shared/sources/index.ts";
import { traceIdOf } from "../../shared/tracing.ts";

export interface DecodedEvent {
  eventId: string;
  receivedAt: Date;
  streamSeq: number;
  contentType: string;
  body: string;
  event: CanonicalEvent;
  /** W3C trace id the ingress published under, when there was one. */
  traceId: string | null;
}

export type DecodeResult = { ok: true; value: DecodedEvent } | { ok: false; code: string; reason: string };

const decoder = new TextDecoder();

/**
 * Postgres text and jsonb cannot hold U+0000 or a lone UTF-16 surrogate (valid JSON can
 * carry both, as "\\u0000" and "\\ud800"); a sender that puts one in a value must not
 * make its event unstorable, so NULs are dropped and lone surrogates become U+FFFD.
 */
function stripNul<T>(value: T): T {
  // Almost every event has neither: copying it whole only when it does halves this step's work.
  return needsCleaning(value) ? cleaned(value) : value;
}

/** U+0000 or a UTF-16 surrogate (paired ones are fine, but rare enough to clean the slow way). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is what it looks for
const SUSPECT = /[\u0000\ud800-\udfff]/;

function needsCleaning(value: unknown): boolean {
  if (typeof value === "string") return SUSPECT.test(value);
  if (Array.isArray(value)) return value.some(needsCleaning);
  if (value && typeof value === "object") {
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue;
      if (SUSPECT.test(k) || needsCleaning((value as Record<string, unknown>)[k])) return true;
    }
  }
  return false;
}

function cleaned<T>(value: T): T {
  if (typeof value === "string")
    return (value.includes("\u0000") ? value.replaceAll("\u0000", "") : value).toWellFormed() as T;
  if (Array.isArray(value)) return value.map(cleaned) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[cleaned(k)] = cleaned(v);
    return out as T;
  }
  return value;
}

/** What decoding reads of a message's headers: nats.js's MsgHdrs, or a HeaderView of them. */
export interface HeaderReader {
  get(key: string): string;
}

/** A message as decodeMessage reads it. */
export interface MessageLike {
  data: Uint8Array;
  headers?: HeaderReader;
  seq: number;
  subject: string;
}

/**
 * A message's headers read once into a Map. nats.js's get() lists and filters every key on each
 * call, and a message is read a dozen times (decoding, its span, its batch's links): 3.5% of the
 * projector's CPU (issue #13 item 4). Same answers: exact key, first value, "" when absent.
 */
export function headerView(headers: JsMsg["headers"]): HeaderReader | undefined {
  if (!headers) return undefined;
  const map = new Map<string, string>();
  for (const [key, values] of headers as unknown as Iterable<[string, string[]]>)
    if (values.length > 0 && values[0]) map.set(key, values[0]);
  return readerOf(map);
}

const readerOf = (map: Map<string, string>): HeaderReader => ({ get: (key) => map.get(key) ?? "" });

const headerText = new TextDecoder();

/**
 * The header block of a message as it came over the wire ("NATS/1.0", then "Key: value" lines),
 * read as nats.js's MsgHdrs.decode reads it: the key as sent, up to the first colon; the value
 * trimmed; the first of repeated keys. MsgHdrs.decode validates every key and looks the whole
 * list up again for each line it appends: with a dozen headers a message, 5-6% of the
 * projector's CPU in a profile (issue #13 item 4).
 */
export function parseHeaderBlock(block: Uint8Array): HeaderReader {
  const map = new Map<string, string>();
  const lines = headerText.decode(block).split("\r\n");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    if (!map.has(key)) map.set(key, line.slice(colon + 1).trim());
  }
  return readerOf(map);
}

/** nats.js's message internals this reads (pinned by bun.lock); anything else falls back to msg.headers. */
interface WireMessage {
  msg?: { _rdata?: unknown; _msg?: { hdr?: unknown } };
}

/** A received message's headers, parsed from its bytes when they are at hand (parseHeaderBlock), else through nats.js. */
export function messageHeaders(msg: JsMsg): HeaderReader | undefined {
  const core = (msg as unknown as WireMessage).msg;
  const data = core?._rdata;
  const hdr = core?._msg?.hdr;
  if (data instanceof Uint8Array && typeof hdr === "number")
    return hdr > -1 ? parseHeaderBlock(data.subarray(0, hdr)) : undefined;
  return headerView(msg.headers);
}

function requestFromMessage(msg: Pick<MessageLike, "data" | "headers">): RawRequest {
  const h = msg.headers;
  const headers: Record<string, string> = {};
  const provider = h?.get(H.providerHeaders);
  if (provider) Object.assign(headers, JSON.parse(provider) as Record<string, string>);
  const contentType = h?.get(H.contentType) ?? "application/json";
  headers["content-type"] = contentType;
  return {
    method: h?.get(H.method) || "POST",
    headers,
    query: Object.fromEntries(new URLSearchParams(h?.get(H.query) ?? "")),
    body: msg.data,
    now: Number(h?.get(H.receivedAt)) || Date.now(),
  };
}

export function decodeMessage(msg: MessageLike, sources: Map<string, SourceConfig>): DecodeResult {
  const sourceId = messageSource(msg);
  const eventId = msg.headers?.get(H.eventId);
  if (!eventId) return { ok: false, code: "missing_event_id", reason: `message has no ${H.eventId} header` };
  const source = sources.get(sourceId);
  if (!source)
    return { ok: false, code: "unknown_source", reason: `no source "${sourceId}" is configured in this projector` };
  try {
    const req = requestFromMessage(msg);
    const event = stripNul(getAdapter(source.adapter).parse(req, source));
    return {
      ok: true,
      value: {
        eventId,
        receivedAt: new Date(req.now),
        streamSeq: msg.seq,
        contentType: req.headers["content-type"]!,
        body: stripNul(decoder.decode(msg.data)),
        traceId: traceIdOf(msg.headers?.get(H.traceparent)),
        event,
      },
    };
  } catch (error) {
    if (error instanceof AdapterError) return { ok: false, code: error.code, reason: error.message };
    return { ok: false, code: "parse_failed", reason: (error as Error).message ?? String(error) };
  }
}
