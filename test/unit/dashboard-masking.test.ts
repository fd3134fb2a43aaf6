// What a viewer sees in lists (issue #10 item 5): the masking rules, derived from the field
// table (shared/patient-fields.ts), applied to patients, conflicts' submissions and answers.
import { expect, test } from "bun:test";
import { MASK, maskAnswers, maskPatientValues, maskValue } from "../../services/dashboard/masking.ts";
import { PATIENT_FIELDS, patientField } from "../../shared/patient-fields.ts";

test.each([
  ["email", "ada.lovelace@example.com", "a***@example.com"],
  ["email", "x@sub.example.org", "x***@sub.example.org"],
  ["phone", "+4917612345678", "***78"],
  ["dateOfBirth", "1815-12-10", "1815"],
  ["street", "Hauptstraße 12a", "***"],
  ["postalCode", "20095", "***"],
  ["preferredLanguage", "Deutsch", "***"],
  // Shown: a viewer finds and tells patients apart by name and place.
  ["firstName", "Ada", "Ada"],
  ["lastName", "Lovelace", "Lovelace"],
  ["fullName", "Ada Lovelace", "Ada Lovelace"],
  ["city", "London", "London"],
  ["country", "GB", "GB"],
  ["gender", "female", "female"],
  ["consent", true, true],
] as const)("%s %p → %p", (field, value, masked) => {
  expect(maskValue(patientField(field), value)).toEqual(masked);
});

test("null stays null (a viewer may see that a field is unknown)", () => {
  for (const f of PATIENT_FIELDS) expect(maskValue(f, null)).toBeNull();
});

test("a value of an unexpected shape is masked whole, never passed through", () => {
  expect(maskValue(patientField("email"), "no-at-sign")).toBe(MASK);
  expect(maskValue(patientField("phone"), "1")).toBe(MASK);
  expect(maskValue(patientField("dateOfBirth"), "10.12.1815")).toBe(MASK);
  expect(maskValue(patientField("email"), 42 as never)).toBe(MASK);
});

test("a field the table does not call sensitive is never masked", () => {
  const plain = { ...patientField("email"), sensitive: false };
  expect(maskValue(plain, "ada@example.com")).toBe("ada@example.com");
});

test("a patient's canonical fields are masked by the table and answers whole; bookkeeping is kept", () => {
  const patient = {
    id: "7",
    firstName: "Ada",
    email: "ada@example.com",
    phone: "+4940123456",
    dateOfBirth: "1815-12-10",
    street: "Baker St 1",
    answers: { Symptoms: "chest pain", "Newsletter?": true, Children: 2, Empty: null },
    source: "heyflow",
    eventsCount: 3,
  };
  const masked: Record<string, unknown> = maskPatientValues(patient);
  expect(masked).toEqual({
    id: "7",
    firstName: "Ada",
    email: "a***@example.com",
    phone: "***56",
    dateOfBirth: "1815",
    street: "***",
    answers: { Symptoms: MASK, "Newsletter?": MASK, Children: MASK, Empty: null },
    source: "heyflow",
    eventsCount: 3,
  });
  // Pure: the input is untouched (it may be the cached copy a detail read serves).
  expect(patient.email).toBe("ada@example.com");
  expect(patient.answers.Symptoms).toBe("chest pain");
});

test("answers keep their labels, every value masked", () => {
  expect(maskAnswers({ "E-Mail": "ada@example.com", Choices: ["a", "b"] })).toEqual({ "E-Mail": MASK, Choices: MASK });
  expect(maskAnswers(undefined)).toBeUndefined();
});

test("every sensitive field of the table has a rule that changes a typical value or deliberately keeps it", () => {
  // A new field kind added to the table without a masking decision fails to compile
  // (MASKERS is a Record over ValueKind); this pins which kinds are shown to viewers.
  const shown = PATIENT_FIELDS.filter((f) => f.sensitive && maskValue(f, sample(f.type)) === sample(f.type)).map(
    (f) => f.name,
  );
  expect(shown.sort()).toEqual(["city", "consent", "country", "firstName", "fullName", "gender", "lastName"]);
});

function sample(type: "text" | "date" | "boolean") {
  return type === "boolean" ? true : type === "date" ? "2000-01-01" : "x@y.z";
}
