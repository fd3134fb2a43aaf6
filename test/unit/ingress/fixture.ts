// The ingress in process for unit tests: the real app and webhook handler, with a publisher
// that answers as JetStream would (an ack, or a failure) instead of a NATS connection.
import { createIngressApp } from "../../../services/ingress/app.ts";
import type { PublishResult, WebhookMessage } from "../../../services/ingress/publish.ts";
import { createWebhookHandler, type WebhookDeps } from "../../../services/ingress/webhook.ts";
import { signStandardWebhook } from "../../../shared/crypto/standard-webhooks.ts";
import { createLogger } from "../../../shared/logger.ts";
import { createMetrics } from "../../../shared/metrics.ts";
import type { SourceConfig } from "../../../shared/sources/types.ts";
import { source } from "../sources/helpers.ts";

const SECRET = "whsec_aG9va2xpbmUtZGV2LXNlY3JldC0zMi1ieXRlcy1vayE=";

/** The dev generic source (Standard Webhooks), with `extra` settings. */
export const generic = (extra: Partial<SourceConfig> = {}) =>
  source("generic", { scheme: "standard-webhooks", secrets: [SECRET], toleranceSeconds: 300 }, extra);

export function ingress(
  opts: {
    sources?: SourceConfig[];
    publish?: (m: WebhookMessage) => Promise<PublishResult>;
    queueUp?: boolean;
  } & Pick<WebhookDeps, "maxInFlight" | "rateLimiter" | "bodyTimeoutMs"> = {},
) {
  const published: WebhookMessage[] = [];
  const sources = opts.sources ?? [generic()];
  const metrics = createMetrics("ingress");
  const sourceMap = new Map(sources.map((s) => [s.id, s]));
  const handleWebhook = createWebhookHandler({
    sources: sourceMap,
    publish:
      opts.publish ??
      (async (m) => {
        published.push(m);
        return { duplicate: false, seq: published.length };
      }),
    quarantine: async () => {},
    queueAvailable: () => opts.queueUp ?? true,
    log: createLogger("ingress", "silent"),
    metrics,
    maxInFlight: opts.maxInFlight,
    rateLimiter: opts.rateLimiter,
    bodyTimeoutMs: opts.bodyTimeoutMs,
  });
  const app = createIngressApp({
    handleWebhook,
    sources: sourceMap,
    readiness: {},
    metrics,
    log: createLogger("ingress", "silent"),
  });
  return { app, published, metrics, sources: sourceMap };
}

/** A signed POST of `body` for the generic source. */
export function signed(body: string, id = `msg_${Math.random()}`, headers: Record<string, string> = {}): RequestInit {
  const ts = Math.floor(Date.now() / 1000);
  return {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(ts),
      "webhook-signature": signStandardWebhook(SECRET, id, ts, body),
      ...headers,
    },
  };
}

export const url = (sourceId = "generic") => `http://ingress/v1/webhooks/${sourceId}`;

export async function answer(res: Response) {
  return {
    status: res.status,
    body: (await res.json()) as { error?: { code: string; message: string }; received?: boolean },
    retryAfter: res.headers.get("retry-after"),
    allow: res.headers.get("allow"),
  };
}
