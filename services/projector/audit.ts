// The projector's audit entries: the receipt of every webhook (source, event id, outcome;
// never its payload). A projected event's receipt also names the patient it was applied to,
// the fields it changed and the patient's hashes before and after it, so the receipts of
// one patient chain its states (each "before" is the previous "after"). A batch's entries
// go into the chain in its own transaction (project.ts): they exist exactly when it committed.
import { type EntityHashKey, entityHash } from "../../shared/audit/canonical.ts";
import { changedFields } from "../../shared/audit/entities.ts";
import type { AuditEntry } from "../../shared/audit/writer.ts";
import type { DecodedEvent } from "./decode.ts";

const ACTOR = "projector";

/** What applying one submission did to its patient (states as patientState gives them). */
export interface PatientEffect {
  patientId: string;
  /** null: the submission created the patient. */
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
  /** Held back as an identity conflict: only the patient's event count changed. */
  conflict: boolean;
}

export interface BatchOutcome {
  /** Event ids written by this batch (the rest were seen before: duplicates). */
  admitted: ReadonlySet<string>;
  /** event id → its effect on a patient, for every admitted event. */
  effects: ReadonlyMap<string, PatientEffect>;
  /** Event ids dropped unwritten: their patient was erased after they were received (erased.ts). */
  erased?: ReadonlySet<string>;
}

/**
 * One receipt a message, in message order; a redelivered or repeated event is a "duplicate", an
 * event of a patient erased after it was received "erased".
 * A state that is one submission's "after" and the next one's "before" is hashed once, under
 * `hashKey` (shared/crypto/audit-hash-key.ts), which a receipt with hashes names in details.
 */
export function batchEntries(
  events: readonly DecodedEvent[],
  outcome: BatchOutcome,
  hashKey: EntityHashKey,
): AuditEntry[] {
  const hashes = new Map<object, Buffer>();
  const hashOf = (state: Record<string, unknown>) => {
    const known = hashes.get(state);
    if (known) return known;
    const hash = entityHash(hashKey, state);
    hashes.set(state, hash);
    return hash;
  };
  const projected = new Set<string>();
  return events.map((e): AuditEntry => {
    const first = outcome.admitted.has(e.eventId) && !projected.has(e.eventId);
    if (first) projected.add(e.eventId);
    const effect = first ? outcome.effects.get(e.eventId) : undefined;
    return {
      actor: ACTOR,
      action: "webhook.receive",
      entityType: "webhook_event",
      entityId: e.eventId,
      changedFields: effect ? changedFields(effect.before ?? {}, effect.after) : [],
      beforeHash: effect?.before ? hashOf(effect.before) : null,
      afterHash: effect ? hashOf(effect.after) : null,
      details: {
        source: e.event.source,
        outcome: first ? "projected" : outcome.erased?.has(e.eventId) ? "erased" : "duplicate",
        streamSeq: e.streamSeq,
        patientId: effect?.patientId,
        created: effect && !effect.before ? true : undefined,
        conflict: effect?.conflict || undefined,
        hashKey: effect ? hashKey.id : undefined,
      },
    };
  });
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
