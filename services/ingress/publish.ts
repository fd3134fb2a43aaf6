// Publishing a webhook durably: the promise resolves only once JetStream has stored the
// message (PubAck). The ingress answers 2xx on that and nothing earlier.
import { headers as natsHeaders } from "@nats-io/nats-core";
import type { JetStreamClient } from "@nats-io/jetstream";
import { H, dlqSubject, webhookSubject } from "../../shared/nats.ts";

export interface WebhookMessage {
  source: string;
  eventId: string;
  body: Uint8Array;
  contentType: string;
  method: string;
  /** Query string without credentials, "" when none. */
  query: string;
  receivedAt: number;
  providerHeaders: Record<string, string>;
  traceparent?: string;
}

export interface PublishResult {
  duplicate: boolean;
  seq: number;
}

export type Publisher = (msg: WebhookMessage) => Promise<PublishResult>;
export type Quarantiner = (msg: WebhookMessage, code: string, reason: string) => Promise<void>;

function messageHeaders(msg: WebhookMessage) {
  const h = natsHeaders();
  h.set(H.source, msg.source);
  h.set(H.eventId, msg.eventId);
  h.set(H.receivedAt, String(msg.receivedAt));
  h.set(H.contentType, msg.contentType);
  h.set(H.method, msg.method);
  if (msg.query) h.set(H.query, msg.query);
  if (Object.keys(msg.providerHeaders).length) h.set(H.providerHeaders, JSON.stringify(msg.providerHeaders));
  if (msg.traceparent) h.set(H.traceparent, msg.traceparent);
  return h;
}

export function createPublisher(js: JetStreamClient, timeoutMs: number): Publisher {
  return async (msg) => {
    const ack = await js.publish(webhookSubject(msg.source), msg.body, {
      msgID: msg.eventId,
      headers: messageHeaders(msg),
      timeout: timeoutMs,
    });
    return { duplicate: ack.duplicate, seq: ack.seq };
  };
}

/** Keeps an authenticated body that cannot be parsed, with the reason, in WEBHOOKS_DLQ. */
export function createQuarantiner(js: JetStreamClient, timeoutMs: number): Quarantiner {
  return async (msg, code, reason) => {
    const h = messageHeaders(msg);
    h.set(H.reasonCode, code);
    h.set(H.reason, reason);
    h.set(H.originalSubject, webhookSubject(msg.source));
    await js.publish(dlqSubject("ingress", msg.source), msg.body, { msgID: `ingress-${msg.eventId}`, headers: h, timeout: timeoutMs });
  };
}
