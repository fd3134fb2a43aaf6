// The consume loop: messages arrive continuously; a batch is cut when it reaches
// `batchSize` or `batchDelayMs` after its first message, whichever comes first. Each
// batch is one transaction; every message is acked only after that commit.
import type { Consumer, JsMsg } from "@nats-io/jetstream";
import { context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import type { Sql } from "postgres";
import { recordAudit } from "../../shared/audit/writer.ts";
import type { Keys } from "../../shared/crypto/keys.ts";
import { databaseAnswers } from "../../shared/db/client.ts";
import { failureReason } from "../../shared/db/errors.ts";
import { errorSummary, type Logger } from "../../shared/logger.ts";
import { H, messageSource, PROJECTOR_CONSUMER, STREAM } from "../../shared/nats.ts";
import type { SourceConfig } from "../../shared/sources/index.ts";
import type { CountedEvent } from "../../shared/stats.ts";
import { extractContext } from "../../shared/tracing.ts";
import { deadLetterReceipt } from "./audit.ts";
import type { DeadLetterWriter } from "./dead-letter.ts";
import { type DecodedEvent, decodeMessage, type HeaderReader, messageHeaders } from "./decode.ts";
import { type BatchResult, projectBatch } from "./project.ts";

export interface ProjectorDeps {
  consumer: Consumer;
  sql: Sql;
  /** Seal and index patient data (shared/crypto/keys.ts). */
  keys: Keys;
  sources: Map<string, SourceConfig>;
  deadLetter: DeadLetterWriter;
  log: Logger;
  tracer: Tracer;
  batchSize: number;
  batchDelayMs: number;
  /** Batches written at once (each its own transaction). */
  concurrency: number;
  maxDeliver: number;
  /** Base delay before a failed message is redelivered; grows with each attempt. */
  retryDelayMs: number;
  /** Called after every committed batch (metrics, logs). */
  onBatch?: (stats: BatchStats) => void;
  /** Called for every message moved to the DLQ (metrics). */
  onDeadLetter?: (source: string, code: string) => void;
  /** Called with the patients a committed batch wrote (cache invalidation). */
  onPatientsWritten?: (ids: string[]) => void;
  /** Called with the events a committed batch stored for the first time (stats counters). */
  onEventsStored?: (events: CountedEvent[]) => void;
  /**
   * Whether a source this projector does not know may yet arrive (shared/sources/runtime.ts: a
   * runtime source the watch has not caught up with, or cannot open): its messages are then
   * redelivered later instead of dead-lettered, since the ingress answered them 2xx.
   */
  sourceMayArrive?: (source: string) => Promise<boolean>;
}

/** What one batch came to. */
export interface BatchStats {
  size: number;
  inserted: number;
  duplicates: number;
  /** Events of a patient erased after they were received: written nowhere (erased.ts). */
  erased: number;
  conflicts: number;
  deadLettered: number;
  ms: number;
}

export interface RunningProjector {
  /** Stops pulling, finishes the batch in hand, acks it. */
  stop(): Promise<void>;
  /** Able to project now: consuming, and the database answered since its last failure (probed here if need be). */
  healthy(): Promise<boolean>;
}

/** Socket and driver codes of a connection that failed or was lost. */
const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

/**
 * Failures of the database rather than of the data: it is down, restarting, out of
 * connections, refusing our login, or asked us to retry. Such a batch is redelivered
 * whole and never counted towards dead-lettering.
 */
function isTransient(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? "";
  return (
    CONNECTION_ERROR_CODES.has(code) ||
    /^(08|28|53|57|58)/.test(code) || // connection, authorization, resources, operator intervention, system
    code === "3D000" || // database does not exist (yet)
    code === "40001" ||
    code === "40P01" // serialization failure, deadlock: retry as a whole
  );
}

/** A transient failure that means the database cannot be reached or used (not a conflict between transactions). */
function databaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? "";
  return isTransient(error) && !code.startsWith("40");
}

export async function startProjector(deps: ProjectorDeps): Promise<RunningProjector> {
  const { sql, keys, sources, log } = deps;
  let buffer: JsMsg[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  // Batches in flight at once, each in its own transaction on its own connection: most of
  // a batch's time is spent waiting on Postgres, so overlapping them raises throughput.
  // Rows are written in a fixed order (see projectBatch) so concurrent batches that touch
  // the same patients wait for each other instead of deadlocking.
  const inflight = new Set<Promise<void>>();
  // Readiness. A batch that failed because of its data (a poison event isolated, retried,
  // dead-lettered) says nothing about the ability to project. A database that could not be
  // reached does, until it answers again: a later successful write, or the probe healthy()
  // runs, since while traffic is idle no batch may come along to prove it.
  let databaseDown = false;
  let failures = 0; // counts database failures, so a probe older than the latest one cannot clear it
  let consuming = true;
  const databaseFailed = (error: unknown) => {
    if (!databaseUnavailable(error)) return;
    databaseDown = true;
    failures++;
  };

  /** Asked at most once a source per few seconds: a burst of its messages makes one lookup. */
  const mayArrive = new Map<string, { at: number; answer: Promise<boolean> }>();
  function sourceMayArrive(source: string): Promise<boolean> {
    if (!deps.sourceMayArrive) return Promise.resolve(false);
    const known = mayArrive.get(source);
    if (known && Date.now() - known.at < 2000) return known.answer;
    const answer = deps.sourceMayArrive(source).catch((error) => {
      // The registry cannot be asked (NATS trouble): keep the message rather than dead-letter it.
      log.warn({ source, err: errorSummary(error) }, "runtime sources registry not reachable; redelivering");
      return true;
    });
    mayArrive.set(source, { at: Date.now(), answer });
    return answer;
  }

  async function deadLetterAndAck(msg: JsMsg, code: string, reason: string): Promise<boolean> {
    // The consumer has no delivery limit of its own (see provisionJetStream), so a message
    // left unacked here comes back and is dead-lettered on a later delivery.
    const leave = (error: unknown, what: string) => {
      log.error({ err: errorSummary(error), seq: msg.seq }, `${what}; leaving for redelivery`);
      msg.nak(deps.retryDelayMs);
      return false;
    };
    try {
      await deps.deadLetter(msg, code, reason);
    } catch (error) {
      return leave(error, "dead-letter publish failed");
    }
    try {
      // Its receipt in the audit trail before the message leaves the stream (the copy above is
      // stored once however often this runs: its msg id is keyed on the stream sequence).
      const receipt = { source: messageSource(msg), eventId: msg.headers?.get(H.eventId) || null, streamSeq: msg.seq };
      await sql.begin((tx) => recordAudit(tx, deadLetterReceipt(receipt, code)));
    } catch (error) {
      databaseFailed(error);
      return leave(error, "dead-letter receipt not recorded");
    }
    msg.term(reason.slice(0, 200));
    deps.onDeadLetter?.(messageSource(msg), code);
    return true;
  }

  /**
   * Redeliver with a growing (bounded) pause: after a database failure, or while a message's
   * runtime source is not loaded yet. Not a failure of the message, but JetStream counts the
   * delivery all the same: a message that waited through several outages has fewer tries left
   * (`failed` dead-letters at MAX_DELIVER deliveries; it is kept there with its reason, for
   * replay).
   */
  function redeliverLater(msg: JsMsg): void {
    msg.nak(deps.retryDelayMs * Math.min(msg.info.deliveryCount, 10));
  }

  /** A failed write: retry later, or dead-letter on the last allowed delivery. */
  async function failed(msg: JsMsg, reason: string): Promise<number> {
    if (msg.info.deliveryCount >= deps.maxDeliver)
      return (await deadLetterAndAck(msg, "projection_failed", reason)) ? 1 : 0;
    msg.nak(deps.retryDelayMs * msg.info.deliveryCount);
    return 0;
  }

  /** A message with its headers read once (messageHeaders) and its producer's context. */
  interface Received {
    msg: JsMsg;
    headers: HeaderReader | undefined;
    /** The ingress's publish span, whose context the message carries in its headers. */
    producer: ReturnType<typeof extractContext>;
  }

  function received(msg: JsMsg): Received {
    const headers = messageHeaders(msg);
    return { msg, headers, producer: extractContext((key) => headers?.get(key)) };
  }

  /** One span per message, continuing the trace the ingress started for that webhook. */
  function messageSpan({ msg, headers, producer }: Received): Span {
    return deps.tracer.startSpan(
      `process ${msg.subject}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          "messaging.system": "nats",
          "messaging.operation.type": "process",
          "messaging.destination.name": msg.subject,
          "messaging.consumer.group.name": PROJECTOR_CONSUMER,
          "messaging.message.id": headers?.get(H.eventId) ?? "",
          "hookline.delivery_count": msg.info.deliveryCount,
        },
      },
      producer,
    );
  }

  /**
   * The CONSUMER span of a whole batch, linked to every message's producer (publish) span.
   * It is also the child of its first sampled message's span (a batch of one, the usual case
   * below full load: its message's), so a sampled webhook's trace shows its batch down to
   * each SQL statement even when the batch's other messages were not sampled; a batch with no
   * sampled message is a new trace, sampled as any other.
   */
  function batchSpan(batch: Received[], parent: Span | undefined): Span {
    return deps.tracer.startSpan(
      `process ${STREAM}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          "messaging.system": "nats",
          "messaging.operation.type": "process",
          "messaging.destination.name": STREAM,
          "messaging.consumer.group.name": PROJECTOR_CONSUMER,
          "messaging.batch.message_count": batch.length,
        },
        links: batch
          .map((r) => trace.getSpanContext(r.producer))
          .filter((c) => c !== undefined)
          .map((c) => ({ context: c })),
      },
      parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT,
    );
  }

  function endSpan(span: Span, error?: string): void {
    if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end();
  }

  /** What a batch came to, for onBatch. */
  interface Tally {
    inserted: number;
    duplicates: number;
    erased: number;
    conflicts: number;
    deadLettered: number;
  }

  /** A decoded message waiting for its write, with its span. */
  interface Pending {
    msg: JsMsg;
    event: DecodedEvent;
    span: Span;
  }

  /** Decodes every message; what cannot be projected at all is dead-lettered at once. */
  async function decodeBatch(batch: Received[], spans: Span[], tally: Tally): Promise<Pending[]> {
    const pending: Pending[] = [];
    for (const [i, { msg, headers }] of batch.entries()) {
      const span = spans[i]!;
      const result = decodeMessage({ data: msg.data, headers, seq: msg.seq, subject: msg.subject }, sources);
      if (result.ok) pending.push({ msg, event: result.value, span });
      else if (result.code === "unknown_source" && (await sourceMayArrive(messageSource(msg)))) {
        redeliverLater(msg);
        endSpan(span, "redelivered: its source is not loaded yet");
      } else {
        log.warn({ seq: msg.seq, code: result.code }, "unprojectable message dead-lettered");
        if (await deadLetterAndAck(msg, result.code, result.reason)) tally.deadLettered++;
        endSpan(span, `dead-lettered: ${result.code}`);
      }
    }
    return pending;
  }

  /** After a commit: ack its messages, count it, and pass on the patients it wrote. */
  function committed(items: Pending[], result: BatchResult, tally: Tally): void {
    tally.inserted += result.inserted;
    tally.duplicates += result.duplicates;
    tally.erased += result.erased;
    tally.conflicts += result.conflicts;
    for (const d of items) {
      d.msg.ack();
      endSpan(d.span);
    }
    if (result.patientIds.length) deps.onPatientsWritten?.(result.patientIds);
    if (result.stored.length) deps.onEventsStored?.(result.stored);
    databaseDown = false;
  }

  /** Isolates a poison event from its batch-mates: each alone in its own transaction. */
  async function writeOneByOne(items: Pending[], tally: Tally): Promise<void> {
    for (const d of items) {
      try {
        committed([d], await projectBatch(sql, keys, [d.event]), tally);
      } catch (error) {
        // Codes only: a database error's text can quote row values (patient data).
        const reason = failureReason(error);
        databaseFailed(error);
        if (isTransient(error)) redeliverLater(d.msg);
        else tally.deadLettered += await failed(d.msg, reason);
        endSpan(d.span, reason);
      }
    }
  }

  /** The batch under its span: the statements it runs (client-spans.ts) become its children. */
  async function handle(messages: JsMsg[]): Promise<void> {
    const batch = messages.map(received);
    const spans = batch.map(messageSpan);
    const span = batchSpan(
      batch,
      spans.find((s) => s.isRecording()),
    );
    try {
      await context.with(trace.setSpan(ROOT_CONTEXT, span), () => handleBatch(batch, spans));
    } finally {
      span.end();
    }
  }

  /** Decode → one transaction for the batch → ack; on a data error, one by one; on a database outage, all later. */
  async function handleBatch(batch: Received[], spans: Span[]): Promise<void> {
    const started = performance.now();
    const tally: Tally = { inserted: 0, duplicates: 0, erased: 0, conflicts: 0, deadLettered: 0 };
    const pending = await decodeBatch(batch, spans, tally);
    // The batch's one transaction, linked to every message it carried.
    const txSpan = deps.tracer.startSpan("projectBatch", {
      attributes: { "db.system.name": "postgresql", "hookline.batch.size": pending.length },
      links: pending.map((d) => ({ context: d.span.spanContext() })),
    });
    try {
      const result = await context.with(trace.setSpan(context.active(), txSpan), () =>
        projectBatch(
          sql,
          keys,
          pending.map((d) => d.event),
        ),
      );
      committed(pending, result, tally);
      endSpan(txSpan);
    } catch (batchError) {
      const reason = failureReason(batchError);
      endSpan(txSpan, reason);
      databaseFailed(batchError);
      if (isTransient(batchError)) {
        // The database is away, not the data bad: retry the whole batch later, and never
        // count this against the event (an outage must not dead-letter live traffic).
        log.warn({ reason, size: pending.length }, "database unavailable; batch will be redelivered");
        for (const d of pending) {
          redeliverLater(d.msg);
          endSpan(d.span, reason);
        }
      } else {
        log.warn({ reason, size: pending.length }, "batch failed; retrying one by one");
        await writeOneByOne(pending, tally);
      }
    }
    deps.onBatch?.({ size: batch.length, ...tally, ms: performance.now() - started });
  }

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    if (buffer.length === 0) return;
    // All batch slots busy: try again shortly rather than exceed the bound (each batch
    // holds a database connection; the pool has one to spare for health checks only).
    if (inflight.size >= deps.concurrency) {
      timer = setTimeout(flush, deps.batchDelayMs);
      return;
    }
    const batch = buffer;
    buffer = [];
    const done: Promise<void> = handle(batch)
      .catch((error) => log.error({ reason: failureReason(error) }, "batch handler crashed"))
      .finally(() => inflight.delete(done));
    inflight.add(done);
  }

  // expires 5 s (nats.js default 30 s): a pull whose server died unanswered is noticed by two
  // missed idle heartbeats (expires / 2 each) and pulled again from the consumer's new leader;
  // with the default the projector stood still 35-40 s after a NATS node died (issue #13).
  const messages = await deps.consumer.consume({ max_messages: deps.batchSize * 2, expires: 5_000 });
  const pump = (async () => {
    for await (const msg of messages) {
      buffer.push(msg);
      if (buffer.length >= deps.batchSize) {
        // Back-pressure: no more than `concurrency` batches in flight.
        while (inflight.size >= deps.concurrency) await Promise.race(inflight);
        flush();
      } else if (!timer) timer = setTimeout(flush, deps.batchDelayMs);
    }
  })().finally(() => {
    consuming = false;
  });

  return {
    async stop() {
      messages.stop();
      await pump.catch(() => {});
      while (buffer.length > 0) {
        while (inflight.size >= deps.concurrency) await Promise.race(inflight);
        flush();
      }
      await Promise.all(inflight);
    },
    async healthy() {
      if (!consuming) return false;
      if (!databaseDown) return true;
      const seen = failures;
      const answers = await databaseAnswers(sql).catch(() => false);
      if (answers && seen === failures) databaseDown = false;
      return !databaseDown;
    },
  };
}
