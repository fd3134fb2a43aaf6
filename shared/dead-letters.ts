// Dead letters, in one place: the headers that say why a message was dead-lettered (written
// by the ingress's quarantine and the projector), and listing and replaying what
// WEBHOOKS_DLQ keeps. A replay republishes the original bytes and headers to the original
// subject, then removes the dead letter; the projector's event-id idempotency makes a
// replay of something already stored harmless.

import { jetstream, jetstreamManager, type StoredMsg } from "@nats-io/jetstream";
import { type MsgHdrs, type NatsConnection, headers as natsHeaders } from "@nats-io/nats-core";
import type { AuditEntry } from "./audit/writer.ts";
import { DLQ_STREAM, H, messageSource, webhookSubject } from "./nats.ts";

/** Why a message is in WEBHOOKS_DLQ: carried as headers on its copy there. */
export interface DeadLetterReason {
  /** Stable code ("unparseable_body", "projection_failed", ...). */
  code: string;
  /** For people; never a database's message text (it can quote patient data). */
  reason: string;
  /** The webhook subject to replay it to. */
  originalSubject: string;
  /** Its sequence in WEBHOOKS and how often it was delivered (projector only). */
  originalSeq?: number;
  deliveries?: number;
}

/** The headers a dead letter adds to the original message's; removed again on replay. */
const REASON_HEADERS = new Set<string>([
  H.reason,
  H.reasonCode,
  H.originalSubject,
  H.originalSeq,
  H.deliveries,
  H.msgId,
]);

/** Adds the reason to a dead letter's headers (values made header-safe: errors can hold line breaks). */
export function setReasonHeaders(h: MsgHdrs, why: DeadLetterReason): void {
  const safe = (value: string) => value.replace(/[\r\n]+/g, " ");
  h.set(H.reasonCode, safe(why.code));
  h.set(H.reason, safe(why.reason).slice(0, 1000));
  h.set(H.originalSubject, why.originalSubject);
  if (why.originalSeq !== undefined) h.set(H.originalSeq, String(why.originalSeq));
  if (why.deliveries !== undefined) h.set(H.deliveries, String(why.deliveries));
}

/** One dead letter as `./ops/hookline dlq list` shows it. */
export interface DeadLetterRecord {
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

function describe(m: StoredMsg): DeadLetterRecord {
  const h = m.header;
  return {
    seq: m.seq,
    subject: m.subject,
    source: messageSource({ subject: m.subject, headers: h }),
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
  /** Only sequences after this one (paging). */
  afterSeq?: number;
}

/** Walks the DLQ oldest first, yielding the stored messages that match. */
export async function* readDeadLetters(
  nc: NatsConnection,
  filter: DeadLetterFilter = {},
): AsyncGenerator<{ msg: StoredMsg; letter: DeadLetterRecord }> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(DLQ_STREAM);
  if (info.state.messages === 0) return;
  const first = filter.seq ?? Math.max(info.state.first_seq, (filter.afterSeq ?? 0) + 1);
  const last = filter.seq ?? info.state.last_seq;
  for (let seq = first; seq <= last; seq++) {
    // Deleted (replayed, erased) sequences leave gaps: null. Any other failure (a timeout) throws,
    // or a list, a replay or an erasure sweep would skip a letter and say nothing.
    const msg: StoredMsg | null = await jsm.streams.getMessage(DLQ_STREAM, { seq });
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

/** Dead letters by stage (ingress, projector) and source, from the stream's per-subject counts (no walk). */
export async function countDeadLettersBySubject(
  nc: NatsConnection,
): Promise<{ total: number; byStage: Record<string, number>; bySource: Record<string, number> }> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(DLQ_STREAM, { subjects_filter: ">" });
  const byStage: Record<string, number> = {};
  const bySource: Record<string, number> = {};
  for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
    // dlq.<stage>.<source> (dlqSubject)
    const [, stage = "unknown", source = "unknown"] = subject.split(".");
    byStage[stage] = (byStage[stage] ?? 0) + n;
    bySource[source] = (bySource[source] ?? 0) + n;
  }
  return { total: info.state.messages, byStage, bySource };
}

/** The audit entry of one replay, whoever ran it (`hookline dlq replay`, the dashboard). */
export function deadLetterReplayed(
  actor: string,
  letter: DeadLetterRecord,
  replayedAs: number,
  details: Record<string, string> = {},
): AuditEntry {
  return {
    actor,
    action: "dead_letter.replay",
    entityType: "dead_letter",
    entityId: String(letter.seq),
    details: { ...details, source: letter.source, eventId: letter.eventId, code: letter.code, replayedAs },
  };
}

/** Republishes one dead letter to its original subject and deletes it from the DLQ. */
export async function replayDeadLetter(nc: NatsConnection, msg: StoredMsg): Promise<{ seq: number; subject: string }> {
  const letter = describe(msg);
  const subject = letter.originalSubject ?? webhookSubject(letter.source);
  const h = natsHeaders();
  for (const [key, values] of msg.header) if (!REASON_HEADERS.has(key)) for (const v of values) h.append(key, v);
  h.set(H.replayedFrom, String(msg.seq));
  // A fresh Nats-Msg-Id: the original may still sit in the duplicate window.
  const ack = await jetstream(nc).publish(subject, msg.data, { headers: h, msgID: `replay-${DLQ_STREAM}-${msg.seq}` });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.deleteMessage(DLQ_STREAM, msg.seq, false);
  return { seq: ack.seq, subject };
}
