// Issue #14: a value the mapper kept as sent (it failed validation: "12" under "Telefon") fills
// an empty field of the patient but never replaces a stored one, whatever the submission's time.
import { expect, test } from "bun:test";
import {
  MERGED_FIELDS,
  mergeSubmission,
  type PatientState,
  type PatientValues,
} from "../../shared/db/patient-merge.ts";

const empty = Object.fromEntries(MERGED_FIELDS.map((f) => [f, null])) as PatientValues;
const state = (values: Partial<PatientValues>, at: string, extra: Partial<PatientState> = {}): PatientState => ({
  values: { ...empty, ...values },
  answers: {},
  source: "generic",
  formId: "f1",
  lastEventId: at,
  submittedAt: new Date(at),
  ...extra,
});

test("a later kept-as-sent phone does not replace a stored phone; a validated one does", () => {
  const stored = state({ phone: "+491711234567" }, "2026-01-01T00:00:00Z");
  const kept = state({ phone: "12" }, "2026-02-01T00:00:00Z", { keptAsSent: ["phone"] });
  expect(mergeSubmission(stored, kept).values.phone).toBe("+491711234567");
  const valid = state({ phone: "+493012345678" }, "2026-02-01T00:00:00Z");
  expect(mergeSubmission(stored, valid).values.phone).toBe("+493012345678");
});

test("a kept-as-sent value fills an empty field", () => {
  const stored = state({ firstName: "Eva" }, "2026-01-01T00:00:00Z");
  const kept = state({ phone: "12" }, "2026-02-01T00:00:00Z", { keptAsSent: ["phone"] });
  expect(mergeSubmission(stored, kept).values.phone).toBe("12");
});
