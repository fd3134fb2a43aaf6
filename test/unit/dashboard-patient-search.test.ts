// Pure parts of the patient routes: which kind of search a query is, and where each field's
// value came from (patient-list.ts, patient-detail.ts).
import { expect, test } from "bun:test";
import { fieldOrigins } from "../../services/dashboard/patient-detail.ts";
import { searchKind } from "../../services/dashboard/patient-list.ts";
import type { PatientDto } from "../../services/dashboard/patients.ts";

test("a query is an email when it has an @, a phone when it is digits with punctuation, else words", () => {
  expect(searchKind("Ada@Example.com")).toBe("email");
  expect(searchKind("ada@")).toBe("email");
  expect(searchKind("+49 170 123 45 67")).toBe("phone");
  expect(searchKind("(0170) 123-4567")).toBe("phone");
  expect(searchKind("12345")).toBe("name"); // too short for a phone: a postal code, a house number
  expect(searchKind("Müller 10115")).toBe("name");
});

const entry = (eventId: string, submittedAt: string) => ({
  eventId,
  source: "generic",
  formId: "f1",
  submittedAt,
  status: "merged" as const,
  answers: {},
});

test("a field's origin is the newest merged submission carrying its value, or a later manual edit", () => {
  const patient = { city: "Ulm", phone: "+49301", firstName: "Ada" } as unknown as PatientDto;
  const origins = fieldOrigins(
    patient,
    [
      {
        entry: entry("e1", "2026-01-01T00:00:00Z"),
        values: { city: "Ulm", phone: "+49300" },
        provenance: { city: { label: "Ort", method: "label" } },
      },
      {
        entry: entry("e2", "2026-02-01T00:00:00Z"),
        values: { city: "Ulm", phone: "+49301" },
        provenance: { city: { label: "Stadt", method: "label" } },
      },
      { entry: entry("e3", "2026-03-01T00:00:00Z"), values: null, provenance: {} },
    ],
    { firstName: { at: "2026-02-15T00:00:00Z", by: "token:1" }, phone: { at: "2025-12-01T00:00:00Z" } },
  );
  expect(origins.city).toMatchObject({ kind: "submission", eventId: "e2", label: "Stadt" });
  // Edited after the only submission that could have set it: manual.
  expect(origins.firstName).toEqual({ kind: "manual", editedAt: "2026-02-15T00:00:00Z", by: "token:1" });
  // Edited before the submission that carries the value now: that submission.
  expect(origins.phone).toMatchObject({ kind: "submission", eventId: "e2" });
  expect(origins.email).toBeUndefined();
});
