// A decoded event as the projector gets one from decode.ts (a generic source's webhook), for the
// tests that call projectBatch directly: one builder instead of one per test file.
import type { DecodedEvent } from "../services/projector/decode.ts";
import { getAdapter, type PatientRecord, type SourceConfig } from "../shared/sources/index.ts";

let seq = 0;

/**
 * Event `id` of `patient`, received now (or at `receivedAt`), submitted when it was received
 * (or at `submittedAt`), from source "generic", form "f1" with one answer naming the id.
 *
 * @example await projectBatch(sql, TEST_KEYS, [decodedEvent("e1", { email: "a@example.com" })])
 */
export function decodedEvent(
  id: string,
  patient: PatientRecord,
  opts: { receivedAt?: Date; submittedAt?: string; formId?: string | null } = {},
): DecodedEvent {
  const receivedAt = opts.receivedAt ?? new Date();
  const formId = opts.formId === undefined ? "f1" : opts.formId;
  return {
    eventId: id,
    receivedAt,
    streamSeq: ++seq,
    contentType: "application/json",
    body: "{}",
    traceId: null,
    event: {
      source: "generic",
      formId,
      providerEventId: id,
      submittedAt: opts.submittedAt ?? receivedAt.toISOString(),
      answers: formId === null ? [] : [{ label: "x", value: id }],
      patient,
      confidence: {},
    },
  };
}

/**
 * Event `id` as the projector gets a JSON webhook `body` of `source`: parsed by the source's
 * adapter (its patient, answers and provenance as a real delivery would give), submitted at
 * `submittedAt`, stored under `streamSeq` when given.
 */
export function parsedEvent(
  id: string,
  source: SourceConfig,
  body: string,
  opts: { submittedAt: string; streamSeq?: number },
): DecodedEvent {
  const parsed = getAdapter(source.adapter).parse(
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      query: {},
      body: new TextEncoder().encode(body),
      now: Date.now(),
    },
    source,
  );
  return {
    eventId: id,
    receivedAt: new Date(),
    streamSeq: opts.streamSeq ?? ++seq,
    contentType: "application/json",
    body,
    traceId: null,
    event: { ...parsed, source: source.id, submittedAt: opts.submittedAt },
  };
}
