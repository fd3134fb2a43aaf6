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
  return coalesced(async (msg) => {
    const ack = await js.publish(webhookSubject(msg.source), msg.body, {
      msgID: msg.eventId,
      headers: messageHeaders(msg),
      timeout: timeoutMs,
    });
    return { duplicate: ack.duplicate, seq: ack.seq };
  });
}

/**
 * Starts the publishes requested during one event-loop turn together, in one callback.
 * Why: nats.js writes its outbound buffer on the next microtask checkpoint, and Bun drains
 * microtasks after every HTTP request callback, so under load each webhook cost its own
 * socket write (22% of ingress CPU in a profile at 256 in flight). Started together, the
 * turn's publishes leave in one write. Nothing else changes: each promise still settles
 * only with its own PubAck (or its error/timeout).
 */
export function coalesced<T, R>(publish: (msg: T) => Promise<R>): (msg: T) => Promise<R> {
  let queue: (() => void)[] = [];
  const run = () => {
    const batch = queue;
    queue = [];
    for (const start of batch) start();
  };
  return (msg) =>
    new Promise<R>((resolve, reject) => {
      if (queue.push(() => publish(msg).then(resolve, reject)) === 1) setImmediate(run);
    });
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
