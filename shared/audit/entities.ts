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

/** Equal as canonical JSON: primitives compared directly, objects (answers, dates) by their text. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a == null || b == null) return (a ?? null) === (b ?? null);
  return typeof a === "object" && typeof b === "object" && canonicalJson(a) === canonicalJson(b);
}

/**
 * The top-level fields whose values differ (canonically): in the order `after` lists them,
 * then those only `before` has.
 */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const changed: string[] = [];
  for (const k of Object.keys(after)) if (!same(before[k], after[k])) changed.push(k);
  for (const k of Object.keys(before)) if (!(k in after) && !same(before[k], undefined)) changed.push(k);
  return changed;
}
