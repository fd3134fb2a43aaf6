// The merge rule (shared/db/patient-merge.ts): later wins per field, identity conflicts merge nothing.
import { describe, expect, test } from "bun:test";
import {
  identityConflicts,
  MERGED_FIELDS,
  mergeSubmission,
  normalizeIdentity,
  type PatientState,
  type PatientValues,
} from "../../shared/db/patient-merge.ts";

const empty = Object.fromEntries(MERGED_FIELDS.map((f) => [f, null])) as PatientValues;
const state = (
  values: Partial<PatientValues>,
  at: string,
  id = at,
  answers: Record<string, unknown> = {},
): PatientState => ({
  values: { ...empty, ...values },
  answers,
  source: `src-${id}`,
  formId: `form-${id}`,
  lastEventId: id,
  submittedAt: new Date(at),
});

describe("identity", () => {
  test("names compare ignoring case, accents, spaces, punctuation; ß reads as ss", () => {
    expect(normalizeIdentity("  Zoë  Müller-Weiß ")).toBe(normalizeIdentity("ZOE MULLER WEISS"));
    expect(normalizeIdentity("O’Brien")).toBe(normalizeIdentity("o'brien"));
    expect(normalizeIdentity("Anna")).not.toBe(normalizeIdentity("Anne"));
  });

  test("a different date of birth or name is a conflict; a missing value on either side is not", () => {
    const stored = { ...empty, firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1815-12-10" };
    expect(identityConflicts(stored, { ...empty, dateOfBirth: "1815-12-11", phone: "+1" })).toEqual(["dateOfBirth"]);
    expect(identityConflicts(stored, { ...empty, firstName: "Eve", lastName: "Lovelace" })).toEqual(["firstName"]);
    expect(
      identityConflicts(stored, { ...empty, firstName: "ADA", lastName: "lovelace", dateOfBirth: "1815-12-10" }),
    ).toEqual([]);
    expect(identityConflicts(stored, { ...empty, phone: "+1" })).toEqual([]);
    expect(identityConflicts(empty, { ...empty, firstName: "Eve", dateOfBirth: "2000-01-01" })).toEqual([]);
  });

  test("a submission with none of the patient's identity values may fill gaps but not replace values", () => {
    const stored = { ...empty, firstName: "Ada", dateOfBirth: "1815-12-10", phone: "+441", city: "London" };
    // Replacing the phone without naming the patient: held back, the unconfirmed fields named.
    expect(identityConflicts(stored, { ...empty, phone: "+442" })).toEqual(["firstName", "dateOfBirth"]);
    // Filling a gap, or repeating what is stored, needs no proof.
    expect(identityConflicts(stored, { ...empty, street: "Baker St 1", city: "London" })).toEqual([]);
    // One confirmed identity value is enough to update.
    expect(identityConflicts(stored, { ...empty, firstName: "ada", phone: "+442" })).toEqual([]);
    // A patient with no identity values on record has nothing to confirm.
    expect(identityConflicts({ ...empty, phone: "+441" }, { ...empty, phone: "+442" })).toEqual([]);
  });

  test("normalizing a 1 MiB value is linear", () => {
    const started = performance.now();
    normalizeIdentity(" -".repeat(512 * 1024));
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("merge", () => {
  const stored = state({ phone: "+49301", city: "Berlin", firstName: "Ada" }, "2026-01-05T00:00:00Z", "e5", {
    a: 1,
    b: 1,
  });

  test("a newer submission replaces the values it carries and keeps the rest", () => {
    const merged = mergeSubmission(stored, state({ phone: "+49302" }, "2026-01-06T00:00:00Z", "e6", { b: 2 }));
    expect(merged.values).toMatchObject({ phone: "+49302", city: "Berlin", firstName: "Ada" });
    expect(merged).toMatchObject({ answers: { a: 1, b: 2 }, source: "src-e6", formId: "form-e6", lastEventId: "e6" });
    expect(merged.submittedAt.toISOString()).toBe("2026-01-06T00:00:00.000Z");
  });

  test("an older submission only fills what is missing", () => {
    const merged = mergeSubmission(
      stored,
      state({ phone: "+49300", street: "Alt 1" }, "2026-01-04T00:00:00Z", "e4", { b: 0, c: 0 }),
    );
    expect(merged.values).toMatchObject({ phone: "+49301", street: "Alt 1" });
    expect(merged).toMatchObject({ answers: { a: 1, b: 1, c: 0 }, source: "src-e5", lastEventId: "e5" });
    expect(merged.submittedAt.toISOString()).toBe("2026-01-05T00:00:00.000Z");
  });
});

describe("manual edits (PATCH /api/v1/patients/:id)", () => {
  const edited = (at: string): PatientState => ({
    ...state({ phone: "+491701111111", city: "Berlin" }, "2026-01-01T00:00:00Z", "e1"),
    manualEdits: { phone: { at } },
  });

  test("a submission older than the edit does not overwrite the edited field, but still updates the others", () => {
    const merged = mergeSubmission(
      edited("2026-03-01T00:00:00Z"),
      state({ phone: "+491702222222", city: "Hamburg" }, "2026-02-01T00:00:00Z", "e2"),
    );
    expect(merged.values.phone).toBe("+491701111111");
    expect(merged.values.city).toBe("Hamburg");
    expect(merged.manualEdits).toEqual({ phone: { at: "2026-03-01T00:00:00Z" } });
  });

  test("a submission newer than the edit wins as usual", () => {
    const merged = mergeSubmission(
      edited("2026-03-01T00:00:00Z"),
      state({ phone: "+491703333333" }, "2026-04-01T00:00:00Z", "e3"),
    );
    expect(merged.values.phone).toBe("+491703333333");
  });
});
