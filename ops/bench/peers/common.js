// Shared by the peer receivers: the same checks hookline's ingress makes before it
// accepts a webhook (content type, size, authentication over the raw bytes, event id
// for dedup), so the comparison measures the architecture, not skipped work.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

// Dev-only credentials, identical to ops/dev/sources.yaml (public, for local use only).
const SW_SECRET = Buffer.from("aG9va2xpbmUtZGV2LXNlY3JldC0zMi1ieXRlcy1vayE=", "base64");
const SOURCES = {
  heyflow: { scheme: "token", header: "x-webhook-token", token: "dev-heyflow-token" },
  typeform: { scheme: "typeform", secret: "dev-typeform-secret" },
  "google-forms": { scheme: "standard-webhooks" },
  generic: { scheme: "standard-webhooks" },
};
const MAX_BODY = 256 * 1024;
const TOLERANCE_S = 300;

function safeEqual(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function verifyStandard(headers, body, now) {
  const id = headers["webhook-id"];
  const ts = headers["webhook-timestamp"];
  const sigs = headers["webhook-signature"];
  if (!id || !ts || !sigs) return "missing_signature";
  if (Math.abs(now / 1000 - Number(ts)) > TOLERANCE_S) return "timestamp_out_of_tolerance";
  const expected = createHmac("sha256", SW_SECRET).update(`${id}.${ts}.`).update(body).digest("base64");
  for (const part of sigs.split(" ")) {
    const [version, sig] = part.split(",");
    if (version === "v1" && sig && safeEqual(sig, expected)) return null;
  }
  return "invalid_signature";
}

function verifyTypeform(headers, body, secret) {
  const sig = headers["typeform-signature"];
  if (!sig) return "missing_signature";
  const expected = `sha256=${createHmac("sha256", secret).update(body).digest("base64")}`;
  return safeEqual(sig, expected) ? null : "invalid_signature";
}

/** Returns { status, code } for a rejection, or { eventId } for an accepted webhook. */
export function checkWebhook(sourceId, headers, body, now = Date.now()) {
  const source = SOURCES[sourceId];
  if (!source) return { status: 404, code: "unknown_source" };
  const type = String(headers["content-type"] ?? "")
    .split(";")[0]
    .trim()
    .toLowerCase();
  if (type !== "application/json") return { status: 415, code: "unsupported_media_type" };
  if (!Buffer.isBuffer(body)) return { status: 400, code: "unparseable_body" };
  if (body.length > MAX_BODY) return { status: 413, code: "body_too_large" };
  let failure = null;
  if (source.scheme === "token")
    failure = safeEqual(String(headers[source.header] ?? ""), source.token) ? null : "invalid_token";
  else if (source.scheme === "typeform") failure = verifyTypeform(headers, body, source.secret);
  else failure = verifyStandard(headers, body, now);
  if (failure) return { status: 401, code: failure };
  let parsed;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return { status: 400, code: "unparseable_body" };
  }
  // Same derivation as hookline (shared/events.ts): provider id when there is one, else the bytes.
  const providerId = headers["webhook-id"] ?? parsed?.event_id ?? parsed?.id ?? null;
  const hash = createHash("sha256").update(sourceId).update("\0");
  if (providerId !== null) hash.update("id:").update(String(providerId));
  else hash.update("body:").update(body);
  return { eventId: `evt_${hash.digest("hex").slice(0, 32)}`, body: parsed };
}

export const SCHEMA_SQL = `
create schema if not exists bench;
create table if not exists bench.peer_direct_events (
  event_id text primary key, source text not null, received_at timestamptz not null default now(), body jsonb not null);
create table if not exists bench.peer_bull_events (
  event_id text primary key, source text not null, received_at timestamptz not null default now(), body jsonb not null);`;

export function errorJson(res, status, code) {
  res.status(status).json({ error: { code, message: code.replace(/_/g, " ") } });
}

/** BullMQ takes ioredis options, not a URL: redis://host:port/db → { host, port, db }. */
export function redisOptions(url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379/5") {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    db: Number(u.pathname.slice(1) || 0),
    maxRetriesPerRequest: null,
  };
}
