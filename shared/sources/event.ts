// Assembles the canonical event every adapter returns, so the mapping step is identical
// for all sources.
import { mapAnswers } from "./mapper.ts";
import type { Answer, CanonicalEvent, SourceConfig } from "./types.ts";

export function buildEvent(
  source: SourceConfig,
  fields: { formId: string | null; providerEventId: string | null; submittedAt: string; answers: Answer[] },
): CanonicalEvent {
  const { patient, confidence, provenance } = mapAnswers(fields.answers, source, fields.formId);
  return { source: source.id, ...fields, patient, confidence, provenance };
}
