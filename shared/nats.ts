// NATS connection and idempotent JetStream provisioning. Every name a later part relies
// on (stream, subjects, consumer, DLQ, header keys) is defined here once.

import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { type NatsConnection, nanos } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { Logger } from "./logger.ts";
import {
  createConfig,
  DEFAULT_ACK_WAIT_SECONDS,
  NS_PER_DAY,
  planStreamUpdate,
  STREAM_DEFAULTS,
  type StreamPlan,
  type StreamSettings,
} from "./stream-limits.ts";
import { explainTlsFailure, type NatsTls } from "./tls.ts";

export const STREAM = "WEBHOOKS";
export const DLQ_STREAM = "WEBHOOKS_DLQ";
export const PROJECTOR_CONSUMER = "projector";
/** KV bucket of the sources created at runtime (shared/sources/runtime.ts), watched by every ingress and projector pod. */
export const SOURCES_BUCKET = "hookline_sources";
/** Subject of a source's webhooks: `webhooks.<source>`. */
export const webhookSubject = (source: string) => `webhooks.${source}`;
/** Every webhook subject (the WEBHOOKS stream, the projector's filter). */
const WEBHOOK_SUBJECTS = webhookSubject(">");
/** stage: "ingress" (quarantined before publish) or "projector" (failed after). */
const dlqSubjectOf = (stage: string, source: string) => `dlq.${stage}.${source}`;
export const dlqSubject = (stage: "ingress" | "projector", source: string) => dlqSubjectOf(stage, source);
/** Every dead letter of `source`, whichever stage wrote it (a subject filter). */
export const dlqSubjectsOf = (source: string) => dlqSubjectOf("*", source);
const DLQ_SUBJECTS = "dlq.>";

/**
 * The source a message belongs to: its Hookline-Source header, else the last token of its
 * subject (both subject shapes end in the source id, which has no dots).
 */
export function messageSource(msg: { subject: string; headers?: { get(key: string): string } | null }): string {
  return msg.headers?.get(H.source) || msg.subject.slice(msg.subject.lastIndexOf(".") + 1);
}

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
  /** On a replayed dead letter: the DLQ sequence it came from. */
  replayedFrom: "Hookline-Replayed-From",
  traceparent: "traceparent",
  tracestate: "tracestate",
} as const;

export interface ConsumerLimits {
  ackWaitSeconds: number;
  maxAckPending: number;
}

const DEFAULT_CONSUMER_LIMITS: ConsumerLimits = {
  ackWaitSeconds: DEFAULT_ACK_WAIT_SECONDS,
  maxAckPending: 20_000,
};

/** The projector consumer's limits with ACK_WAIT_SECONDS (consumerConfigSpec), as every provisioner of it applies them. */
export const consumerLimits = (ackWaitSeconds = DEFAULT_ACK_WAIT_SECONDS): ConsumerLimits => ({
  ...DEFAULT_CONSUMER_LIMITS,
  ackWaitSeconds,
});

// Whether each connection made by connectNats is up right now (false between a
// disconnect and the reconnect that follows), kept by connectNats' one status loop.
const liveness = new WeakMap<NatsConnection, boolean>();

/** True while `nc` is connected: a closed or reconnecting connection cannot store anything. */
export function natsConnected(nc: NatsConnection): boolean {
  return liveness.get(nc) !== false && !nc.isClosed();
}

export async function connectNats(
  url: string,
  name: string,
  log: Logger,
  // tls: from shared/tls.ts (loadConnectionTls); without it, TLS only if the server demands it (system CAs).
  { tls, ...options }: { noAsyncTraces?: boolean; tls?: NatsTls } = {},
): Promise<NatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...options,
      servers: url.split(","),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // A server that stops answering without closing the socket (a frozen or cut-off node) is
      // noticed by unanswered pings: every 5 s, two missed, then the client moves to another of
      // the NATS_URL servers. nats.js' default (2 min) kept an ingress refusing for minutes.
      pingInterval: 5_000,
      maxPingOut: 2,
      // Fail the first connect quickly so a pod restarts rather than hanging.
      timeout: 5000,
      waitOnFirstConnect: false,
      tls,
    });
  } catch (error) {
    throw explainTlsFailure("nats", error) ?? error;
  }
  liveness.set(nc, true);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") liveness.set(nc, false);
      else if (s.type === "reconnect") liveness.set(nc, true);
      if (s.type === "disconnect" || s.type === "reconnect" || s.type === "error")
        log.warn({ nats: s.type }, "nats connection status");
    }
  })();
  return nc;
}

/**
 * JetStream refused to store a publish for lack of room: the stream is at its max_bytes or
 * max_msgs (err_code 10077, "maximum bytes exceeded" / "maximum messages exceeded") or the
 * server's JetStream storage is exhausted (10023, "insufficient resources").
 */
export function isStreamFull(error: unknown): boolean {
  if (!(error instanceof JetStreamApiError)) return false;
  return (error.code === 10077 && /exceeded/i.test(error.message)) || error.code === 10023;
}

function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === 404 || /not found/i.test(error.message));
}

/** A stream message asked for (or deleted) by sequence is not there: deleted, or acknowledged off a work queue. */
export function isNoMessage(error: unknown): boolean {
  return error instanceof JetStreamApiError && /no message found/i.test(error.message);
}

/**
 * Creates the stream, or brings an existing one to the plan: enforced settings always,
 * limits only where configured or still hookline's own default (see shared/stream-limits.ts).
 * Updates only when something differs, so pods starting together send no needless updates.
 */
async function ensureStream(jsm: JetStreamManager, plan: StreamPlan, log?: Logger): Promise<void> {
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(plan.name)).config;
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.streams.add(createConfig(plan));
    log?.info({ stream: plan.name }, "stream created");
    return;
  }
  const { changes, notes } = planStreamUpdate(plan, current);
  if (Object.keys(changes).length === 0) return;
  await jsm.streams.update(plan.name, changes);
  if (notes.length) log?.warn({ stream: plan.name, changes: notes }, "stream settings updated");
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
) {
  try {
    await jsm.consumers.info(stream, config.durable_name);
    await jsm.consumers.update(stream, config.durable_name, config);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.consumers.add(stream, config);
  }
}

/**
 * WEBHOOKS: a work queue, so a message leaves the stream when the projector acks (or, after
 * dead-lettering, terms) it and stays while unprojected, however long that takes (no
 * max_age). When max_bytes/max_msgs is reached JetStream refuses new publishes (discard new)
 * instead of deleting the oldest, unprojected ones; the ingress then answers 503 queue_full.
 * One consumer may read a work queue: the projector's durable.
 */
export function webhookStreamPlan(
  settings: StreamSettings = {},
  name = STREAM,
  subjects = [WEBHOOK_SUBJECTS],
): StreamPlan {
  return {
    name,
    subjects,
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    enforced: { discard: DiscardPolicy.New, max_age: 0 },
    limits: {
      max_bytes: { configured: settings.streamMaxBytes, default: STREAM_DEFAULTS.maxBytes },
      max_msgs: { configured: settings.streamMaxMsgs, default: STREAM_DEFAULTS.maxMsgs },
      num_replicas: { configured: settings.streamReplicas, default: STREAM_DEFAULTS.replicas },
      duplicate_window: { default: nanos(STREAM_DEFAULTS.duplicateWindowSeconds * 1000) },
    },
  };
}

/**
 * WEBHOOKS_DLQ: kept for DLQ_MAX_AGE_DAYS (30 by default) and up to DLQ_MAX_BYTES; when full
 * it refuses (discard new): the projector then leaves the message in WEBHOOKS and retries,
 * the ingress answers 503 for what it would quarantine. Earlier versions kept dead letters
 * forever (max_age 0, no byte limit): such a stream gets the defaults.
 */
export function deadLetterStreamPlan(settings: StreamSettings = {}): StreamPlan {
  return {
    name: DLQ_STREAM,
    subjects: [DLQ_SUBJECTS],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    enforced: { discard: DiscardPolicy.New },
    limits: {
      max_age: {
        configured: settings.dlqMaxAgeDays === undefined ? undefined : settings.dlqMaxAgeDays * NS_PER_DAY,
        default: STREAM_DEFAULTS.dlqMaxAgeDays * NS_PER_DAY,
        legacy: 0,
      },
      max_bytes: { configured: settings.dlqMaxBytes, default: STREAM_DEFAULTS.dlqMaxBytes, legacy: -1 },
      num_replicas: { configured: settings.streamReplicas, default: STREAM_DEFAULTS.replicas },
    },
  };
}

/** The WEBHOOKS stream's settings (also used by the bench for its reference stream). */
export function webhookStreamConfig(
  name: string,
  subjects: string[],
  settings: StreamSettings = {},
): Partial<StreamConfig> & { name: string } {
  return createConfig(webhookStreamPlan(settings, name, subjects));
}

/**
 * The bucket of runtime sources (one value a key: the source's state), created when missing
 * (every pod may be first). With `replicas` (STREAM_REPLICAS, given where the streams are
 * provisioned) an existing bucket is brought to it: nats.js creates buckets with one replica and
 * never changes an existing one, and a registry on one node is lost with that node.
 */
export async function openSourcesBucket(nc: NatsConnection, replicas?: number, log?: Logger): Promise<KV> {
  const kv = await new Kvm(nc).create(SOURCES_BUCKET, { history: 1, replicas: replicas ?? STREAM_DEFAULTS.replicas });
  if (replicas === undefined) return kv;
  const jsm = await jetstreamManager(nc);
  const name = `KV_${SOURCES_BUCKET}`;
  const { config } = await jsm.streams.info(name);
  if (config.num_replicas !== replicas) {
    await jsm.streams.update(name, { ...config, num_replicas: replicas });
    log?.warn(
      { stream: name, changes: [`num_replicas ${config.num_replicas} -> ${replicas}`] },
      "stream settings updated",
    );
  }
  return kv;
}

/**
 * Creates or updates the streams, the runtime sources' bucket and, when `consumer` is given, the projector consumer
 * (the projector, `hookline provision` and `hookline stream migrate` pass it, each with ACK_WAIT_SECONDS;
 * the ingress passes null and leaves the consumer as it is).
 * Safe to run from every pod. Throws StreamProvisionError (code stream_migration_required)
 * for a WEBHOOKS made by an earlier version with limits retention; nothing is changed then.
 */
export async function provisionJetStream(
  nc: NatsConnection,
  settings: StreamSettings = {},
  consumer: ConsumerLimits | null = DEFAULT_CONSUMER_LIMITS,
  log?: Logger,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, webhookStreamPlan(settings), log);
  await ensureStream(jsm, deadLetterStreamPlan(settings), log);
  await openSourcesBucket(nc, settings.streamReplicas, log);
  if (!consumer) return;
  await ensureConsumer(jsm, STREAM, {
    durable_name: PROJECTOR_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: WEBHOOK_SUBJECTS,
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
