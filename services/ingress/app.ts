// The webhook endpoint. Order matters: cheap rejections first (unknown source, IP,
// content type, size, rate), then authentication over the raw bytes, then the one
// parse needed to find the provider's event id, then the durable publish.
import { Elysia } from "elysia";
import { KEPT_PROVIDER_HEADERS, deriveEventId } from "../../shared/events.ts";
import { errorResponse, json } from "../../shared/http/errors.ts";
import { healthRoutes, type ReadinessCheck } from "../../shared/http/health.ts";
import type { Logger } from "../../shared/logger.ts";
import { metricsRoute, type Metrics } from "../../shared/metrics.ts";
import { AdapterError, getAdapter, type RawRequest, type SourceConfig } from "../../shared/sources/index.ts";
import { clientAddress, compileAllowList, type IpMatcher } from "./ip-allow.ts";
import type { Publisher, Quarantiner, WebhookMessage } from "./publish.ts";
import { createRateLimiter } from "./rate-limit.ts";

export interface IngressDeps {
  sources: Map<string, SourceConfig>;
  publish: Publisher;
  quarantine: Quarantiner;
  /** False while NATS is disconnected: answer 503 at once instead of queueing. */
  queueAvailable: () => boolean;
  readiness: Record<string, ReadinessCheck>;
  log: Logger;
  metrics: Metrics;
  /** Load balancers whose X-Forwarded-For is believed (addresses or CIDRs). */
  trustedProxies?: string[];
  isDraining?: () => boolean;
  now?: () => number;
}

const RETRY_AFTER = { "retry-after": "2" };

function mediaType(contentType: string | null): string {
  if (!contentType) return "";
  const semi = contentType.indexOf(";");
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

/** Query parameters minus the source's URL token, which must never be stored. */
function storableQuery(url: URL, source: SourceConfig): string {
  if (!url.search) return "";
  const tokenParam = source.auth.scheme === "token" ? source.auth.queryParam : undefined;
  if (!tokenParam || !url.searchParams.has(tokenParam)) return url.search.slice(1);
  const params = new URLSearchParams(url.searchParams);
  params.delete(tokenParam);
  return params.toString();
}

export function createIngressApp(deps: IngressDeps) {
  const { sources, log } = deps;
  const now = deps.now ?? Date.now;
  const limiter = createRateLimiter();
  // Only sources with an allow-list pay for address resolution.
  const allowLists = new Map<string, IpMatcher>([...sources].filter(([, s]) => s.allowedIps.length > 0).map(([id, s]) => [id, compileAllowList(s.allowedIps)]));
  const trustedProxies = deps.trustedProxies?.length ? compileAllowList(deps.trustedProxies) : () => false;
  const encoder = new TextEncoder();
  const responses = deps.metrics.meter.createCounter("hookline_ingress_responses", {
    description: "Webhook responses by source and HTTP status",
  });
  const publishSeconds = deps.metrics.meter.createHistogram("hookline_ingress_publish_seconds", {
    description: "Time from publish to JetStream PubAck",
    unit: "s",
    advice: { explicitBucketBoundaries: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2] },
  });

  async function receiveCounted(request: Request, sourceId: string, clientIp: string | undefined): Promise<Response> {
    const response = await receive(request, sourceId, clientIp);
    responses.add(1, { source: sources.has(sourceId) ? sourceId : "unknown", status: response.status });
    return response;
  }

  async function receive(request: Request, sourceId: string, clientIp: string | undefined): Promise<Response> {
    const source = sources.get(sourceId);
    if (!source) return errorResponse(404, "unknown_source", `no source "${sourceId}" is configured`);
    const allowList = allowLists.get(sourceId);
    if (allowList && !allowList(clientAddress(clientIp, request.headers.get("x-forwarded-for"), trustedProxies))) {
      return errorResponse(403, "ip_not_allowed", "this address may not post to this source");
    }

    const url = new URL(request.url);
    const isGet = request.method === "GET";
    if (isGet && source.adapter !== "heyflow") {
      return errorResponse(405, "method_not_allowed", "this source accepts POST only", { allow: "POST" });
    }
    const contentType = isGet ? "application/x-www-form-urlencoded" : mediaType(request.headers.get("content-type"));
    if (!source.contentTypes.includes(contentType)) {
      return errorResponse(415, "unsupported_media_type", `content type must be one of: ${source.contentTypes.join(", ")}`);
    }
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > source.maxBodyBytes) return errorResponse(413, "body_too_large", `body exceeds ${source.maxBodyBytes} bytes`);

    const wait = limiter.take(sourceId, source.rateLimitPerSecond);
    if (wait > 0) return errorResponse(429, "rate_limited", "too many requests for this source", { "retry-after": String(wait) });

    // A HeyFlow GET carries its answers in the query string: it becomes the body.
    const body = isGet ? encoder.encode(storableQuery(url, source)) : new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > source.maxBodyBytes) return errorResponse(413, "body_too_large", `body exceeds ${source.maxBodyBytes} bytes`);

    const receivedAt = now();
    const raw: RawRequest = {
      method: request.method,
      headers: headerRecord(request.headers),
      query: Object.fromEntries(url.searchParams),
      body,
      now: receivedAt,
    };
    const adapter = getAdapter(source.adapter);
    const auth = adapter.authenticate(raw, source);
    if (!auth.ok) return errorResponse(401, auth.code, auth.message);

    if (!deps.queueAvailable()) return errorResponse(503, "queue_unavailable", "the queue is unreachable; retry later", RETRY_AFTER);

    const providerHeaders: Record<string, string> = {};
    for (const name of KEPT_PROVIDER_HEADERS) {
      const value = raw.headers[name];
      if (value !== undefined) providerHeaders[name] = value;
    }
    const message: WebhookMessage = {
      source: sourceId,
      eventId: "",
      body,
      contentType,
      method: request.method,
      query: isGet ? "" : storableQuery(url, source),
      receivedAt,
      providerHeaders,
      traceparent: raw.headers.traceparent,
    };

    let providerEventId: string | null;
    try {
      providerEventId = adapter.providerEventId(raw, auth);
    } catch (error) {
      if (!(error instanceof AdapterError)) throw error;
      // Authenticated but unparseable: keep it with the reason before saying 400.
      message.eventId = deriveEventId(sourceId, null, body);
      try {
        await deps.quarantine(message, error.code, error.message);
      } catch (publishError) {
        log.error({ err: publishError, source: sourceId }, "quarantine publish failed");
        return errorResponse(503, "queue_unavailable", "the queue is unreachable; retry later", RETRY_AFTER);
      }
      log.warn({ source: sourceId, eventId: message.eventId, code: error.code }, "quarantined unparseable webhook");
      return errorResponse(error.status, error.code, error.message);
    }

    message.eventId = deriveEventId(sourceId, providerEventId, body);
    try {
      const started = performance.now();
      const ack = await deps.publish(message);
      publishSeconds.record((performance.now() - started) / 1000, { source: sourceId });
      return json({ received: true, eventId: message.eventId, duplicate: ack.duplicate });
    } catch (error) {
      log.error({ err: error, source: sourceId, eventId: message.eventId }, "publish failed");
      return errorResponse(503, "queue_unavailable", "the queue did not confirm storage; retry later", RETRY_AFTER);
    }
  }

  const maxBody = Math.max(...[...sources.values()].map((s) => s.maxBodyBytes), 1024);

  return new Elysia()
    .use(healthRoutes(deps.readiness, deps.isDraining))
    .use(metricsRoute(deps.metrics))
    .post("/v1/webhooks/:source", ({ request, params, server }) => receiveCounted(request, params.source, server?.requestIP(request)?.address), {
      parse: "none",
    })
    .get("/v1/webhooks/:source", ({ request, params, server }) => receiveCounted(request, params.source, server?.requestIP(request)?.address))
    .onError(({ code, error }) => {
      if (code === "NOT_FOUND") return errorResponse(404, "not_found", "no such route");
      log.error({ err: error }, "unhandled ingress error");
      return errorResponse(500, "internal_error", "internal error");
    })
    .decorate("maxBody", maxBody);
}
