import { createHash } from "node:crypto";

/**
 * The event id is derived, not random: the same provider event (or, when the provider
 * sends no id, the same bytes) always gets the same id, so JetStream's duplicate window
 * (Nats-Msg-Id) and the database's unique key both see a retry as the same event.
 */
export function deriveEventId(source: string, providerEventId: string | null, body: Uint8Array): string {
  const hash = createHash("sha256").update(source).update("\0");
  if (providerEventId !== null) hash.update("id:").update(providerEventId);
  else hash.update("body:").update(body);
  return `evt_${hash.digest("hex").slice(0, 32)}`;
}

/** Request headers worth keeping with the message for parse time; never credentials. */
export const KEPT_PROVIDER_HEADERS = ["webhook-id", "webhook-timestamp", "user-agent", "x-request-id"] as const;
