import type { Sql } from "postgres";
import type { Keys } from "../../shared/crypto/keys.ts";
import { CANONICAL_FORM, openCell } from "../../shared/db/sealed.ts";

export interface EventDto {
  eventId: string;
  source: string;
  receivedAt: string;
  submittedAt: string | null;
  formId: string | null;
  providerEventId: string | null;
  patientId: string | null;
  contentType: string | null;
  streamSeq: number | null;
  /** The trace this webhook was received under (open it in Jaeger/Tempo). */
  traceId: string | null;
  canonical?: unknown;
}

export interface EventQuery {
  source?: string;
  limit: number;
  /** Keyset cursor: received_at (ms) and event id of the last row of the previous page. */
  before?: { receivedAt: number; eventId: string };
  withCanonical: boolean;
}

export async function listEvents(sql: Sql, keys: Keys, query: EventQuery): Promise<EventDto[]> {
  const before = query.before
    ? sql`and (we.received_at, we.event_id) < (${new Date(query.before.receivedAt)}, ${query.before.eventId})`
    : sql``;
  const rows = await sql`
    select we.event_id, source, we.received_at, submitted_at, form_id, provider_event_id, patient_id, content_type,
      stream_seq, trace_id
      ${query.withCanonical ? sql`, ${sql(`ids.${CANONICAL_FORM.column}`)}, ${sql(`ids.${CANONICAL_FORM.legacy}`)}` : sql``}
    from webhook_events we
      ${query.withCanonical ? sql`left join webhook_event_ids ids on ids.event_id = we.event_id` : sql``}
    where true
      ${query.source ? sql`and source = ${query.source}` : sql``}
      ${before}
    order by we.received_at desc, we.event_id desc
    limit ${query.limit}`;
  return rows.map((r) => ({
    eventId: r.event_id,
    source: r.source,
    receivedAt: r.received_at.toISOString(),
    submittedAt: r.submitted_at?.toISOString() ?? null,
    formId: r.form_id,
    providerEventId: r.provider_event_id,
    patientId: r.patient_id === null ? null : String(r.patient_id),
    contentType: r.content_type,
    streamSeq: r.stream_seq === null ? null : Number(r.stream_seq),
    traceId: r.trace_id,
    ...(query.withCanonical
      ? { canonical: openCell(keys, CANONICAL_FORM, r[CANONICAL_FORM.column], r[CANONICAL_FORM.legacy]) }
      : {}),
  }));
}
