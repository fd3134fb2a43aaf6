// The webhook endpoint. Order matters: the in-flight cap first (shedding costs nothing),
// then cheap rejections (unknown source, IP, content type, declared size), then the body,
// read within the size limit, then authentication over the raw bytes, then the source's
// rate limit, then the one parse needed to find the provider's event id, then the durable publish.
import { type Context, context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import { deriveEventId, KEPT_PROVIDER_HEADERS } from "../../shared/events.ts";
import { errorResponse, json } from "../../shared/http/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import { counterOf, gaugeOf, histogramOf, METRICS, type Metrics, observableCounterOf } from "../../shared/metrics.ts";
import { isStreamFull, webhookSubject } from "../../shared/nats.ts";
import {
  AdapterError,
  type AuthResult,
  getAdapter,
  type RawRequest,
  type SourceAdapter,
  type SourceConfig,
} from "../../shared/sources/index.ts";
import { sourceDisabled } from "../../shared/sources/runtime.ts";
import { extractContext, injectContext, wellFormedTraceContext } from "../../shared/tracing.ts";
import { BODY_TIMEOUT_MS, BodyTimeoutError, readBodyWithin } from "./body.ts";
import { clientAddress, compileAllowList, type IpMatcher } from "./ip-allow.ts";
import type { Publisher, Quarantiner, WebhookMessage } from "./publish.ts";
import { createRateLimiter, type SourceRateLimiter } from "./rate-limit.ts";
import { type RefusalCode, refuse } from "./refusals.ts";

export interface WebhookDeps {
  /** Read on every request: sources created at runtime are added to it while the ingress runs. */
  sources: Map<string, SourceConfig>;
  /** A source id this pod knows of but cannot serve (shared/sources/runtime.ts): 503, not 404. */
  sourceUnavailable?: (id: string) => boolean;
  publish: Publisher;
  quarantine: Quarantiner;
  /** False while NATS is disconnected: answer 503 at once instead of queueing. */
  queueAvailable: () => boolean;
  log: Logger;
  metrics: Metrics;
  /** Set only when tracing is enabled: the hot path pays nothing otherwise. */
  tracer?: Tracer;
  /** Load balancers whose X-Forwarded-For is believed (addresses or CIDRs). */
  trustedProxies?: string[];
  /** The per-source rate limit: shared through Redis (shared-rate-limit.ts) or, by default, this pod's. */
  rateLimiter?: SourceRateLimiter;
  /** Webhooks handled at once; more are answered 503 overloaded at once (default: no cap). */
  maxInFlight?: number;
  /** How long a body may take to arrive whole (default BODY_TIMEOUT_MS); slower: 400 unreadable_body. */
  bodyTimeoutMs?: number;
  now?: () => number;
}

/**
 * (request, source id from the path, peer address) → response. The peer comes as a
 * function: looking it up costs ~8% of CPU under load and only allow-lists need it.
 */
export type WebhookHandler = (request: Request, sourceId: string, peer: () => string | undefined) => Promise<Response>;

export const WEBHOOK_ROUTE = "/v1/webhooks/:source";
const RETRY_AFTER = { "retry-after": "2" };
// A full stream empties only as fast as the projector catches up: retry less eagerly.
const RETRY_AFTER_FULL = { "retry-after": "30" };
// Shedding clears as soon as requests in flight finish (milliseconds): retry soon.
const RETRY_AFTER_OVERLOADED = { "retry-after": "1" };

/** The outcome label of hookline_webhooks_received_total for each status. */
const STATUS_OUTCOMES: Record<number, string> = {
  200: "accepted",
  400: "invalid",
  401: "unauthorized",
  403: "forbidden",
  404: "unknown_source",
  405: "method_not_allowed",
  413: "too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
  503: "queue_unavailable",
};
/** Outcomes the status alone does not tell (a duplicate's 200, which 503), noted where the answer is made. */
const outcomes = new WeakMap<Response, string>();
function noted(response: Response, outcome: string): Response {
  outcomes.set(response, outcome);
  return response;
}
/** A refusal counted under its own code (a 503 that is not queue_unavailable), so the code is written once. */
const refuseNoted = (code: RefusalCode, message: string, headers?: Record<string, string>) =>
  noted(refuse(code, message, headers), code);
const outcomeOf = (response: Response) => outcomes.get(response) ?? STATUS_OUTCOMES[response.status] ?? "error";

/** 503 for a publish JetStream did not confirm: full (it refused) or unavailable. */
function queueError(error: unknown): Response {
  if (isStreamFull(error)) return refuseNoted("queue_full", "the queue is full; retry later", RETRY_AFTER_FULL);
  return refuse("queue_unavailable", "the queue did not confirm storage; retry later", RETRY_AFTER);
}

function mediaType(contentType: string | null): string {
  if (!contentType) return "";
  const semi = contentType.indexOf(";");
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** Query parameters minus the source's URL token, which must never be stored. */
function storableQuery(search: URLSearchParams, source: SourceConfig): string {
  const tokenParam = source.auth.scheme === "token" ? source.auth.queryParam : undefined;
  if (!tokenParam || !search.has(tokenParam)) return search.toString();
  const params = new URLSearchParams(search);
  params.delete(tokenParam);
  return params.toString();
}

export function createWebhookHandler(deps: WebhookDeps): WebhookHandler {
  const { sources, log, tracer } = deps;
  const now = deps.now ?? Date.now;
  const limiter = deps.rateLimiter ?? createRateLimiter();
  const maxInFlight = deps.maxInFlight ?? Infinity;
  const bodyTimeoutMs = deps.bodyTimeoutMs ?? BODY_TIMEOUT_MS;
  let inFlight = 0;
  // Only sources with an allow-list pay for address resolution.
  const allowLists = new Map<string, IpMatcher>(
    [...sources].filter(([, s]) => s.allowedIps.length > 0).map(([id, s]) => [id, compileAllowList(s.allowedIps)]),
  );
  const trustedProxies = deps.trustedProxies?.length ? compileAllowList(deps.trustedProxies) : () => false;
  const encoder = new TextEncoder();
  let lastFullWarning = -Infinity;
  const emptyQuery = new URLSearchParams();

  // Counted in a plain map and read at scrape time: an OTel counter.add() with
  // attributes on every request cost measurable CPU at tens of thousands per second.
  const counts = new Map<string, { source: string; outcome: string; n: number }>();
  const { meter } = deps.metrics;
  observableCounterOf(meter, METRICS.webhooksReceived).addCallback((result) => {
    for (const c of counts.values()) result.observe(c.n, { source: c.source, outcome: c.outcome });
  });
  gaugeOf(meter, METRICS.inFlight).addCallback((result) => result.observe(inFlight));
  const publishSeconds = histogramOf(meter, METRICS.publishDuration);
  const ackSeconds = histogramOf(meter, METRICS.webhookAckDuration);
  const deadLetters = counterOf(meter, METRICS.deadLetters);
  /** The source label: a configured source's id, else "unknown" (a path is not a label value). */
  const sourceLabel = (sourceId: string) => (sources.has(sourceId) ? sourceId : "unknown");
  function count(source: string, outcome: string): void {
    const key = `${source} ${outcome}`;
    const c = counts.get(key);
    if (c) c.n++;
    else counts.set(key, { source, outcome, n: 1 });
  }

  /** What the cheap checks establish about a request before its body is read. */
  interface Accepted {
    source: SourceConfig;
    adapter: SourceAdapter;
    isGet: boolean;
    contentType: string;
  }

  /**
   * Cheap rejections, before the body is read: unknown source (404), disabled source or IP (403), method (405),
   * content type (415), declared size (413).
   */
  function checkRequest(request: Request, sourceId: string, peer: () => string | undefined): Accepted | Response {
    const source = sources.get(sourceId);
    if (!source) {
      if (deps.sourceUnavailable?.(sourceId))
        return refuseNoted("source_unavailable", `source "${sourceId}" cannot be served by this pod yet`, RETRY_AFTER);
      return refuse("unknown_source", `no source "${sourceId}" is configured`);
    }
    // 403, not 404: a source disabled in the dashboard may be enabled again, and Typeform
    // disables a webhook for good after a 404/410.
    if (sourceDisabled(source)) return refuse("source_disabled", `source "${sourceId}" is disabled`);
    const allowList = allowLists.get(sourceId);
    if (allowList && !allowList(clientAddress(peer(), request.headers.get("x-forwarded-for"), trustedProxies))) {
      return refuse("ip_not_allowed", "this address may not post to this source");
    }
    const adapter = getAdapter(source.adapter);
    const isGet = request.method === "GET";
    if (isGet && !adapter.acceptsGet) {
      return refuse("method_not_allowed", "this source accepts POST only", { allow: "POST" });
    }
    const contentType = isGet ? "application/x-www-form-urlencoded" : mediaType(request.headers.get("content-type"));
    if (!source.contentTypes.includes(contentType)) {
      return refuse("unsupported_media_type", `content type must be one of: ${source.contentTypes.join(", ")}`);
    }
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > source.maxBodyBytes) return refuse("body_too_large", `body exceeds ${source.maxBodyBytes} bytes`);
    return { source, adapter, isGet, contentType };
  }

  /** The request as the adapter sees it (raw bytes, lower-cased headers), and the query to store with it. */
  async function readRequest(
    request: Request,
    { source, isGet }: Accepted,
  ): Promise<{ raw: RawRequest; storedQuery: string } | Response> {
    // Most webhooks have no query string: skip parsing the URL for them.
    const q = request.url.indexOf("?");
    const search = q < 0 ? emptyQuery : new URLSearchParams(request.url.slice(q + 1));
    let body: Uint8Array | undefined;
    try {
      // A HeyFlow GET carries its answers in the query string: it becomes the body.
      body = isGet
        ? encoder.encode(storableQuery(search, source))
        : await readBodyWithin(request, source.maxBodyBytes, bodyTimeoutMs);
    } catch (error) {
      if (error instanceof BodyTimeoutError)
        return refuse("unreadable_body", `the body did not arrive whole within ${bodyTimeoutMs / 1000} s`);
      // The sender went away (or broke the framing) mid-body: nothing to keep.
      return refuse("unreadable_body", "the body could not be read to its end");
    }
    if (body === undefined || body.byteLength > source.maxBodyBytes)
      return refuse("body_too_large", `body exceeds ${source.maxBodyBytes} bytes`);
    const raw: RawRequest = {
      method: request.method,
      // Bun's native toJSON: lower-cased names, one call instead of a JS loop.
      headers: request.headers.toJSON() as Record<string, string>,
      query: q < 0 ? {} : Object.fromEntries(search),
      body,
      now: now(),
    };
    return { raw, storedQuery: isGet || q < 0 ? "" : storableQuery(search, source) };
  }

  /** Authentication (401), then the source's rate limit (429), then whether the queue is reachable (503). */
  function admit(
    raw: RawRequest,
    sourceId: string,
    { source, adapter }: Accepted,
  ): (AuthResult & { ok: true }) | Response | Promise<(AuthResult & { ok: true }) | Response> {
    const auth = adapter.authenticate(raw, source);
    if (!auth.ok) return errorResponse(401, auth.code, auth.message);
    // Counted after authentication: unsigned floods must not use up the real sender's budget.
    const wait = limiter.take(sourceId, source.rateLimitPerSecond);
    // Only a limited source with the shared bucket (Redis) answers later; the rest stays synchronous.
    return typeof wait === "number" ? afterLimit(wait, auth) : wait.then((w) => afterLimit(w, auth));
  }

  function afterLimit<A>(wait: number, auth: A): A | Response {
    if (wait > 0) return refuse("rate_limited", "too many requests for this source", { "retry-after": String(wait) });
    if (!deps.queueAvailable())
      return refuse("queue_unavailable", "the queue is unreachable; retry later", RETRY_AFTER);
    return auth;
  }

  /** The message to publish: the raw bytes plus what the projector needs to parse them again. */
  function webhookMessage(sourceId: string, raw: RawRequest, storedQuery: string, contentType: string): WebhookMessage {
    const providerHeaders: Record<string, string> = {};
    for (const name of KEPT_PROVIDER_HEADERS) {
      const value = raw.headers[name];
      if (value !== undefined) providerHeaders[name] = value;
    }
    return {
      source: sourceId,
      eventId: "",
      body: raw.body,
      contentType,
      method: raw.method,
      query: storedQuery,
      receivedAt: raw.now,
      providerHeaders,
      // Passed on to the projector only when well-formed (W3C Trace Context).
      ...wellFormedTraceContext(raw.headers.traceparent, raw.headers.tracestate),
    };
  }

  /** Authenticated but unparseable: kept in the DLQ with the reason before the 400. */
  async function quarantine(message: WebhookMessage, error: AdapterError): Promise<Response> {
    message.eventId = deriveEventId(message.source, null, message.body);
    try {
      await deps.quarantine(message, error.code, error.message);
    } catch (publishError) {
      log.error({ err: publishError, source: message.source }, "quarantine publish failed");
      return queueError(publishError);
    }
    deadLetters.add(1, { source: message.source, code: error.code });
    log.warn({ source: message.source, eventId: message.eventId, code: error.code }, "quarantined unparseable webhook");
    return noted(errorResponse(error.status, error.code, error.message), "quarantined");
  }

  /** A PRODUCER span for the publish, whose context the message carries on to the projector. */
  function startPublishSpan(message: WebhookMessage, span: Span, ctx: Context): Span {
    span.setAttribute("hookline.event_id", message.eventId);
    const subject = webhookSubject(message.source);
    const publishSpan = tracer!.startSpan(
      `publish ${subject}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          "messaging.system": "nats",
          "messaging.operation.type": "send",
          "messaging.destination.name": subject,
          "messaging.message.id": message.eventId,
        },
      },
      ctx,
    );
    injectContext(trace.setSpan(ctx, publishSpan), (key, value) => {
      if (key === "traceparent") message.traceparent = value;
      else if (key === "tracestate") message.tracestate = value;
    });
    return publishSpan;
  }

  /** Publishes and answers 200 only on JetStream's PubAck; 503 otherwise. */
  async function publishDurably(message: WebhookMessage, publishSpan?: Span, span?: Span): Promise<Response> {
    try {
      const started = performance.now();
      const ack = await deps.publish(message);
      publishSeconds.record((performance.now() - started) / 1000);
      publishSpan?.end();
      span?.setAttribute("hookline.duplicate", ack.duplicate);
      const answer = json({ received: true, eventId: message.eventId, duplicate: ack.duplicate });
      return ack.duplicate ? noted(answer, "duplicate") : answer;
    } catch (error) {
      publishSpan?.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      publishSpan?.end();
      if (!isStreamFull(error))
        log.error({ err: error, source: message.source, eventId: message.eventId }, "publish failed");
      else if (performance.now() - lastFullWarning > 10_000) {
        // Once per 10 s: a full stream refuses every webhook, one line each would flood the log.
        lastFullWarning = performance.now();
        log.warn(
          { source: message.source },
          "stream WEBHOOKS full: refusing webhooks with 503 queue_full until the projector catches up",
        );
      }
      return queueError(error);
    }
  }

  /** Checks → read → authenticate and admit → message → event id (or quarantine) → publish. */
  async function receive(
    request: Request,
    sourceId: string,
    peer: () => string | undefined,
    span?: Span,
    ctx?: Context,
  ): Promise<Response> {
    const accepted = checkRequest(request, sourceId, peer);
    if (accepted instanceof Response) return accepted;
    const read = await readRequest(request, accepted);
    if (read instanceof Response) return read;
    const admitted = admit(read.raw, sourceId, accepted);
    const auth = admitted instanceof Promise ? await admitted : admitted;
    if (auth instanceof Response) return auth;
    const message = webhookMessage(sourceId, read.raw, read.storedQuery, accepted.contentType);
    let providerEventId: string | null;
    try {
      providerEventId = accepted.adapter.providerEventId(read.raw, auth);
    } catch (error) {
      if (!(error instanceof AdapterError)) throw error;
      return quarantine(message, error);
    }
    message.eventId = deriveEventId(sourceId, providerEventId, message.body);
    const publishSpan = tracer && span && ctx ? startPublishSpan(message, span, ctx) : undefined;
    return publishDurably(message, publishSpan, span);
  }

  async function traced(request: Request, sourceId: string, peer: () => string | undefined): Promise<Response> {
    const parent = extractContext((key) => request.headers.get(key));
    const span = tracer!.startSpan(
      `${request.method} ${WEBHOOK_ROUTE}`,
      {
        kind: SpanKind.SERVER,
        attributes: { "http.request.method": request.method, "http.route": WEBHOOK_ROUTE, "hookline.source": sourceId },
      },
      parent,
    );
    try {
      const ctx = trace.setSpan(parent, span);
      // Active while a sampled webhook is handled, so the shared rate limit's Redis call is its
      // child; an unsampled one skips it (making a context active costs throughput, for nothing).
      const response = await (span.isRecording()
        ? context.with(ctx, () => receive(request, sourceId, peer, span, ctx))
        : receive(request, sourceId, peer, span, ctx));
      span.setAttribute("http.response.status_code", response.status);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    } finally {
      span.end();
    }
  }

  return async (request, sourceId, peer) => {
    const started = performance.now();
    let response: Response;
    // Past the cap, shed at once (before the body is read): queueing would grow memory and latency without bound.
    if (inFlight >= maxInFlight)
      response = refuseNoted("overloaded", "too many webhooks in flight; retry shortly", RETRY_AFTER_OVERLOADED);
    else {
      inFlight++;
      try {
        response = await (tracer ? traced(request, sourceId, peer) : receive(request, sourceId, peer));
      } finally {
        inFlight--;
      }
    }
    const source = sourceLabel(sourceId);
    count(source, outcomeOf(response));
    if (response.status === 200) ackSeconds.record((performance.now() - started) / 1000, { source });
    return response;
  };
}
