// `hookline stream migrate`: turns a WEBHOOKS made by an earlier version (limits retention,
// which JetStream cannot change in place) into the work queue provisioning expects, without
// losing a message the projector has not acknowledged:
//   1. seal the old stream: publishes are refused from here on (the ingress answers 503, so
//      senders retry), nothing already stored can be deleted;
//   2. wait until the projector's consumer has acknowledged everything up to the last message;
//   3. delete the stream and provision it (and the consumer) anew.
// Interrupted or timed out, the stream stays sealed (still refusing) and running it again
// continues at step 2.

import { jetstreamManager, RetentionPolicy, type StreamConfig } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { consumerLimits, PROJECTOR_CONSUMER, provisionJetStream, STREAM } from "../shared/nats.ts";
import type { StreamSettings } from "../shared/stream-limits.ts";

export class MigrationError extends Error {
  constructor(
    readonly code: "no_projector_consumer" | "migration_timeout",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "MigrationError";
  }
}

export interface MigrateOptions {
  timeoutMs: number;
  /** Called while waiting, with the messages still unacknowledged. */
  onWaiting?: (unacked: number) => void;
}

export async function migrateWebhookStream(
  nc: NatsConnection,
  settings: StreamSettings & { ackWaitSeconds?: number },
  options: MigrateOptions,
): Promise<"already" | "migrated"> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAM);
  if (info.config.retention === RetentionPolicy.Workqueue) return "already";
  const hasConsumer = await jsm.consumers.info(STREAM, PROJECTOR_CONSUMER).then(
    () => true,
    () => false,
  );
  if (!hasConsumer && info.state.messages > 0) {
    throw new MigrationError(
      "no_projector_consumer",
      `stream ${STREAM} holds ${info.state.messages} message(s) but has no consumer "${PROJECTOR_CONSUMER}", so nothing tells which were projected; nothing changed (start the projector, or remove the stream by hand if they are known to be projected)`,
    );
  }
  // The update API takes `sealed` (only there), though nats.js's update type omits it.
  const seal: Partial<StreamConfig> = { sealed: true };
  // Sealed, nothing more arrives: the update's answer holds the final last sequence.
  const lastSeq = info.config.sealed ? info.state.last_seq : (await jsm.streams.update(STREAM, seal)).state.last_seq;

  const deadline = Date.now() + options.timeoutMs;
  // Without a consumer the stream is empty (checked above): nothing to wait for.
  while (hasConsumer) {
    const c = await jsm.consumers.info(STREAM, PROJECTOR_CONSUMER);
    // Everything up to the sealed stream's last message acknowledged (or dead-lettered).
    const unacked = Math.max(0, lastSeq - c.ack_floor.stream_seq);
    if (unacked === 0 && c.num_ack_pending === 0) break;
    options.onWaiting?.(unacked);
    if (Date.now() > deadline) {
      throw new MigrationError(
        "migration_timeout",
        `${unacked} message(s) in ${STREAM} not yet acknowledged by the projector; ${STREAM} stays sealed (webhooks are answered 503) until this is run again with the projector running`,
      );
    }
    await Bun.sleep(500);
  }
  await jsm.streams.delete(STREAM);
  // The consumer with the ack wait its provisioner would give it (ACK_WAIT_SECONDS).
  await provisionJetStream(nc, settings, consumerLimits(settings.ackWaitSeconds));
  return "migrated";
}
