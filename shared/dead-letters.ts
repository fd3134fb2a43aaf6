// Dead letters: listing and replaying what WEBHOOKS_DLQ keeps. A replay republishes the
// original bytes and headers to the original subject, then removes the dead letter;
// the projector's event-id idempotency makes a replay of something already stored harmless.
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core";
import { jetstream, jetstreamManager, type StoredMsg } from "@nats-io/jetstream";
import { DLQ_STREAM, H } from "./nats.ts";

export interface DeadLetter {
  seq: number;
  subject: string;
  source: string;
  eventId: string | null;
  code: string | null;
  reason: string | null;
  originalSubject: string | null;
  deliveries: number | null;
  storedAt: string;
  bytes: number;
}

const REASON_HEADERS = new Set<string>([H.reason, H.reasonCode, H.originalSubject, H.originalSeq, H.deliveries, H.msgId]);

function describe(m: StoredMsg): DeadLetter {
  const h = m.header;
  return {
    seq: m.seq,
    subject: m.subject,
    source: h.get(H.source) || m.subject.split(".")[2] || "",
    eventId: h.get(H.eventId) || null,
    code: h.get(H.reasonCode) || null,
    reason: h.get(H.reason) || null,
    originalSubject: h.get(H.originalSubject) || null,
    deliveries: h.get(H.deliveries) ? Number(h.get(H.deliveries)) : null,
    storedAt: m.time.toISOString(),
    bytes: m.data.length,
  };
}

export interface DeadLetterFilter {
  source?: string;
  code?: string;
  /** Only this sequence. */
  seq?: number;
}

/** Walks the DLQ oldest first, yielding the stored messages that match. */
export async function* readDeadLetters(nc: NatsConnection, filter: DeadLetterFilter = {}): AsyncGenerator<{ msg: StoredMsg; letter: DeadLetter }> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(DLQ_STREAM);
  if (info.state.messages === 0) return;
  const first = filter.seq ?? info.state.first_seq;
  const last = filter.seq ?? info.state.last_seq;
  for (let seq = first; seq <= last; seq++) {
    let msg: StoredMsg | null;
    try {
      msg = await jsm.streams.getMessage(DLQ_STREAM, { seq });
    } catch {
      continue; // deleted (already replayed) sequences leave gaps
    }
    if (!msg) continue;
    const letter = describe(msg);
    if (filter.source && letter.source !== filter.source) continue;
    if (filter.code && letter.code !== filter.code) continue;
    yield { msg, letter };
  }
}

export async function countDeadLetters(nc: NatsConnection): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.info(DLQ_STREAM)).state.messages;
}

/** Republishes one dead letter to its original subject and deletes it from the DLQ. */
export async function replayDeadLetter(nc: NatsConnection, msg: StoredMsg): Promise<{ seq: number; subject: string }> {
  const letter = describe(msg);
  const subject = letter.originalSubject ?? `webhooks.${letter.source}`;
  const h = natsHeaders();
  for (const [key, values] of msg.header) if (!REASON_HEADERS.has(key)) for (const v of values) h.append(key, v);
  h.set("Hookline-Replayed-From", String(msg.seq));
  // A fresh Nats-Msg-Id: the original may still sit in the duplicate window.
  const ack = await jetstream(nc).publish(subject, msg.data, { headers: h, msgID: `replay-${DLQ_STREAM}-${msg.seq}` });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.deleteMessage(DLQ_STREAM, msg.seq, false);
  return { seq: ack.seq, subject };
}
