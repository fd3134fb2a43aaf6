// NATS connection and idempotent JetStream provisioning. Every name a later part relies
// on (stream, subjects, consumer, DLQ, header keys) is defined here once.
import { connect } from "@nats-io/transport-node";
import { nanos, type NatsConnection } from "@nats-io/nats-core";
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import type { Logger } from "./logger.ts";

export const STREAM = "WEBHOOKS";
export const DLQ_STREAM = "WEBHOOKS_DLQ";
export const PROJECTOR_CONSUMER = "projector";
export const webhookSubject = (source: string) => `webhooks.${source}`;
/** stage: "ingress" (quarantined before publish) or "projector" (failed after). */
export const dlqSubject = (stage: "ingress" | "projector", source: string) => `dlq.${stage}.${source}`;

/** Header keys carried with every webhook message. */
export const H = {
  msgId: "Nats-Msg-Id",
  source: "Hookline-Source",
  receivedAt: "Hookline-Received-At",
  contentType: "Content-Type",
  method: "Hookline-Method",
  query: "Hookline-Query",
  eventId: "Hookline-Event-Id",
  /** Provider headers an adapter needs again at parse time (e.g. webhook-timestamp). */
  providerHeaders: "Hookline-Provider-Headers",
  reason: "Hookline-Reason",
  reasonCode: "Hookline-Reason-Code",
  originalSubject: "Hookline-Original-Subject",
  originalSeq: "Hookline-Original-Seq",
  deliveries: "Hookline-Deliveries",
  traceparent: "traceparent",
} as const;

export interface StreamLimits {
  maxAgeHours: number;
  maxBytes: number;
  duplicateWindowSeconds: number;
  replicas: number;
}

export interface ConsumerLimits {
  ackWaitSeconds: number;
  maxAckPending: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxAgeHours: 24 * 7,
  maxBytes: 1024 ** 3,
  duplicateWindowSeconds: 600,
  replicas: 1,
};

export const DEFAULT_CONSUMER_LIMITS: ConsumerLimits = { ackWaitSeconds: 30, maxAckPending: 20_000 };

// Whether each connection made by connectNats is up right now (false between a
// disconnect and the reconnect that follows), kept by connectNats' one status loop.
const liveness = new WeakMap<NatsConnection, boolean>();

/** True while `nc` is connected: a closed or reconnecting connection cannot store anything. */
export function natsConnected(nc: NatsConnection): boolean {
  return liveness.get(nc) !== false && !nc.isClosed();
}

export async function connectNats(url: string, name: string, log: Logger, options: { noAsyncTraces?: boolean } = {}): Promise<NatsConnection> {
  const nc = await connect({
    ...options,
    servers: url.split(","),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // Fail the first connect quickly so a pod restarts rather than hanging.
    timeout: 5000,
    waitOnFirstConnect: false,
  });
  liveness.set(nc, true);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") liveness.set(nc, false);
      else if (s.type === "reconnect") liveness.set(nc, true);
      if (s.type === "disconnect" || s.type === "reconnect" || s.type === "error") log.warn({ nats: s.type }, "nats connection status");
    }
  })();
  return nc;
}

function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === 404 || /not found/i.test(error.message));
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    await jsm.streams.update(config.name, config);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.streams.add(config);
  }
}

async function ensureConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig> & { durable_name: string }) {
  try {
    await jsm.consumers.info(stream, config.durable_name);
    await jsm.consumers.update(stream, config.durable_name, config);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.consumers.add(stream, config);
  }
}

/** The WEBHOOKS stream's settings (also used by the bench for its reference stream). */
export function webhookStreamConfig(name: string, subjects: string[], limits: StreamLimits = DEFAULT_STREAM_LIMITS): Partial<StreamConfig> & { name: string } {
  return {
    name,
    subjects,
    storage: StorageType.File,
    // Limits retention: messages outlive their ack, so a window of history can be replayed.
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(limits.maxAgeHours * 3600_000),
    max_bytes: limits.maxBytes,
    duplicate_window: nanos(limits.duplicateWindowSeconds * 1000),
    num_replicas: limits.replicas,
  };
}

/**
 * Creates or updates the streams and, when `consumer` is given, the projector consumer
 * (only the projector passes it, so its ack_wait/max_deliver settings are the ones kept).
 * Safe to run from every pod.
 */
export async function provisionJetStream(
  nc: NatsConnection,
  stream: StreamLimits = DEFAULT_STREAM_LIMITS,
  consumer: ConsumerLimits | null = DEFAULT_CONSUMER_LIMITS,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, webhookStreamConfig(STREAM, ["webhooks.>"], stream));
  await ensureStream(jsm, {
    name: DLQ_STREAM,
    subjects: ["dlq.>"],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    // Dead letters are kept until replayed and purged by an operator.
    discard: DiscardPolicy.New,
    max_age: 0,
    num_replicas: stream.replicas,
  });
  if (!consumer) return;
  await ensureConsumer(jsm, STREAM, {
    durable_name: PROJECTOR_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: "webhooks.>",
    ack_wait: nanos(consumer.ackWaitSeconds * 1000),
    // No server-side limit: the projector counts deliveries and dead-letters at
    // maxDeliver itself. A server limit would silently drop a message whose last
    // delivery failed to reach the DLQ (crash, DLQ publish error, ack_wait expiry).
    max_deliver: -1,
    max_ack_pending: consumer.maxAckPending,
  });
}

export async function streamExists(jsm: JetStreamManager, name: string): Promise<boolean> {
  try {
    await jsm.streams.info(name);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}
