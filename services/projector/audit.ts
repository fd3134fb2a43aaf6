// The projector's audit entries: the receipt of every webhook (source, event id, outcome;
// never its payload) and every patient it created or changed (changed fields, hashes).
// A batch's entries go into the chain in its own transaction (project.ts), so they exist
// exactly when the batch committed.
import type { AuditEntry } from "../../shared/audit/writer.ts";
import type { DecodedEvent } from "./decode.ts";

const ACTOR = "projector";

/** A patient the batch wrote: its state before (none when created) and after, as hashed. */
export interface PatientChange {
  id: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
  /** Fields that differ (for a new patient: the fields it was created with). */
  changedFields: string[];
}

export interface BatchOutcome {
  /** Event ids written by this batch (the rest were seen before: duplicates). */
  admitted: ReadonlySet<string>;
  patientIdByEvent: ReadonlyMap<string, string>;
  /** Event ids stored as identity conflicts (merged into no patient). */
  held: ReadonlySet<string>;
  patients: readonly PatientChange[];
}

/**
 * One receipt a message, in message order (a redelivered or repeated event: "duplicate"),
 * then one entry a patient created or changed.
 */
export function batchEntries(events: readonly DecodedEvent[], outcome: BatchOutcome): AuditEntry[] {
  const projected = new Set<string>();
  const receipts = events.map((e): AuditEntry => {
    const first = outcome.admitted.has(e.eventId) && !projected.has(e.eventId);
    if (first) projected.add(e.eventId);
    return {
      actor: ACTOR,
      action: "webhook.receive",
      entityType: "webhook_event",
      entityId: e.eventId,
      details: {
        source: e.event.source,
        outcome: first ? "projected" : "duplicate",
        streamSeq: e.streamSeq,
        patientId: first ? outcome.patientIdByEvent.get(e.eventId) : undefined,
        conflict: first && outcome.held.has(e.eventId) ? true : undefined,
      },
    };
  });
  const patients = [...outcome.patients]
    .sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)))
    .map(
      (p): AuditEntry => ({
        actor: ACTOR,
        action: p.before ? "patient.update" : "patient.create",
        entityType: "patient",
        entityId: p.id,
        changedFields: p.changedFields,
        before: p.before ?? undefined,
        after: p.after,
      }),
    );
  return [...receipts, ...patients];
}

/** The receipt of a message the projector dead-lettered instead of writing. */
export function deadLetterReceipt(
  message: { source: string; eventId: string | null; streamSeq: number },
  code: string,
): AuditEntry {
  return {
    actor: ACTOR,
    action: "webhook.receive",
    entityType: "webhook_event",
    entityId: message.eventId,
    details: { source: message.source, outcome: "dead-lettered", code, streamSeq: message.streamSeq },
  };
}
