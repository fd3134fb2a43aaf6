// What of an entity the audit trail hashes, and which of its fields a change touched. The
// projector and the dashboard describe a patient by the same function, from the same row
// shape (a LockedPatient), so the hash after one change equals the hash before the next:
// a gap between them means the patient changed without an audit entry.
import type { LockedPatient } from "../db/patients.ts";
import { canonicalJson } from "./canonical.ts";

/** A patient as hashed: its canonical fields at the top level, then the record's bookkeeping. */
export function patientState(p: LockedPatient): Record<string, unknown> {
  return {
    id: p.id,
    email: p.email,
    ...p.state.values,
    answers: p.state.answers,
    source: p.state.source,
    formId: p.state.formId,
    lastEventId: p.state.lastEventId,
    submittedAt: p.state.submittedAt,
    eventsCount: p.eventsCount,
  };
}

/** The top-level fields whose values differ (canonically), in the order `after` lists them. */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(after), ...Object.keys(before)])];
  return keys.filter((k) => canonicalJson(before[k] ?? null) !== canonicalJson(after[k] ?? null));
}
