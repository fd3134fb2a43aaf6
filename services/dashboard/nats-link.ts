// The dashboard's NATS connection, opened on first use: only the dead-letter routes and the
// stats' dead-letter counts need it, so a NATS outage (or NATS settings an installation never
// gave the dashboard) costs those answers a 503 or a null, never the patient API or start-up.
import type { NatsConnection } from "@nats-io/nats-core";

export interface NatsLink {
  /** The connection, opened now if need be; rejects while it cannot be opened (the next call tries again). */
  get(): Promise<NatsConnection>;
  close(): Promise<void>;
}

export function natsOnDemand(open: () => Promise<NatsConnection>): NatsLink {
  let pending: Promise<NatsConnection> | null = null;
  return {
    get() {
      pending ??= open().catch((error) => {
        pending = null;
        throw error;
      });
      return pending;
    },
    async close() {
      const nc = await pending?.catch(() => null);
      await nc?.close();
    },
  };
}
