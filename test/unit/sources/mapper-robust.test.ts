// Issue #14 item 1: the rules the corpus relies on, one by one.
import { describe, expect, test } from "bun:test";
import { flattenAnswers } from "../../../shared/sources/flatten.ts";
import { matchLabel } from "../../../shared/sources/labels.ts";
import { mapAnswers } from "../../../shared/sources/mapper.ts";
import { splitFullName } from "../../../shared/sources/names.ts";
import { normalizeDate, parsePhone, splitAddressLine } from "../../../shared/sources/normalize.ts";

describe("names: the documented split rule", () => {
  test.each([
    ["Ludwig van Beethoven", "default", "Ludwig", "van Beethoven"],
    ["Ursula von der Leyen", "default", "Ursula", "von der Leyen"],
    ["Anna Maria de la Cruz", "default", "Anna Maria", "de la Cruz"],
    ["Hans Peter Meier", "default", "Hans Peter", "Meier"],
    ["José García López", "es", "José", "García López"],
    ["María José Fernández Ruiz", "es", "María José", "Fernández Ruiz"],
    ["DUPONT Marie", "default", "Marie", "DUPONT"],
    ["Müller-Wagner, Eva Maria", "default", "Eva Maria", "Müller-Wagner"],
  ] as const)("%s (%s)", (full, convention, first, last) => {
    expect(splitFullName(full, convention)).toMatchObject({ firstName: first, lastName: last });
  });
  test("three words split by position alone are marked ambiguous", () => {
    expect(splitFullName("Hans Peter Meier").ambiguous).toBe(true);
    expect(splitFullName("Ludwig van Beethoven").ambiguous).toBeUndefined();
  });
  test("the full name is kept as written beside the parts", () => {
    const { patient } = mapAnswers([{ label: "Nombre completo", value: "José García López" }], { forms: {} }, null);
    expect(patient).toMatchObject({ fullName: "José García López", firstName: "José", lastName: "García López" });
  });
});

describe("labels: five languages and paths", () => {
  test.each([
    ["Prénom", "firstName"],
    ["Nom de famille", "lastName"],
    ["Apellidos", "lastName"],
    ["Cognome", "lastName"],
    ["Correo electrónico", "email"],
    ["Numero di cellulare", "phone"],
    ["Fecha de nacimiento", "dateOfBirth"],
    ["Code postal", "postalCode"],
    ["Città", "city"],
    ["contact.name.first", "firstName"],
    ["name.0.family", "lastName"],
    ["person.phones.0.number", "phone"],
    ["patient.address.postalCode", "postalCode"],
  ] as const)("%s → %s", (label, field) => {
    expect(matchLabel(label)?.field).toBe(field);
  });
  test("paths about someone else or metadata match nothing", () => {
    expect(matchLabel("emergencyContact.phone")).toBeUndefined();
    expect(matchLabel("meta.submittedAt")).toBeUndefined();
  });
});

describe("flattenAnswers", () => {
  test("nested objects and arrays become dotted paths; lists of values stay one answer", () => {
    expect(flattenAnswers(Object.entries({ a: { b: [{ c: 1 }], d: ["x", "y"] } }))).toEqual([
      { label: "a.b.0.c", value: 1, path: ["a", "b", "0", "c"] },
      { label: "a.d", value: ["x", "y"], path: ["a", "d"] },
    ]);
  });
  test("a nested answer is read by its path, whose segments may hold spaces", () => {
    const [answer] = flattenAnswers(Object.entries({ "Datos personales": { Nombre: "Javier" } }));
    expect(answer).toEqual({ label: "Datos personales.Nombre", value: "Javier", path: ["Datos personales", "Nombre"] });
    expect(mapAnswers([answer!], { forms: {} }, null).patient.firstName).toBe("Javier");
  });
  test("a {question, answer} object is one answer labelled by its question", () => {
    expect(flattenAnswers(Object.entries({ answers: [{ question: "Vorname", answer: "Jonas" }] }))).toEqual([
      { label: "Vorname", value: "Jonas" },
    ]);
  });
  test("nesting beyond the bound is kept whole, not dropped, without recursion", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 100_000; i++) deep = { n: deep };
    const answers = flattenAnswers([["root", deep]]);
    expect(answers).toHaveLength(1);
    expect(answers[0]!.path).toHaveLength(33);
  });
});

describe("values that fail validation are kept, flagged", () => {
  test("a possible phone number the metadata does not know: E.164, below 0.5", () => {
    expect(parsePhone("+44 7700 900123")).toEqual({ e164: "+447700900123", valid: false });
    const { patient, confidence, provenance } = mapAnswers(
      [{ label: "Mobile", value: "+44 7700 900123" }],
      { forms: {} },
      null,
    );
    expect(patient.phone).toBe("+447700900123");
    expect(confidence.phone).toBeLessThan(0.5);
    expect(provenance.phone?.keptAsSent).toBe(true);
  });
  test("an impossible date is kept as sent", () => {
    const { patient, confidence } = mapAnswers([{ label: "Geburtsdatum", value: "31.02.1990" }], { forms: {} }, null);
    expect(patient.dateOfBirth).toBe("31.02.1990");
    expect(confidence.dateOfBirth).toBeLessThan(0.5);
  });
  test("an invalid email is not kept (it is the patient's key)", () => {
    expect(mapAnswers([{ label: "E-Mail", value: "n/a" }], { forms: {} }, null).patient.email).toBeUndefined();
  });
});

describe("countries", () => {
  test.each([
    ["12 rue de la Paix, 75002 Paris", undefined, "12 rue de la Paix", "75002", "Paris"],
    ["Kerkstraat 5, 1017 GC Amsterdam", "NL", "Kerkstraat 5", "1017 GC", "Amsterdam"],
    ["10 Downing Street, London SW1A 2AA", "GB", "10 Downing Street", "SW1A 2AA", "London"],
    ["1600 Amphitheatre Pkwy, Mountain View, CA 94043", "US", "1600 Amphitheatre Pkwy", "94043", "Mountain View"],
    ["Hauptstraße 5a 70173 Stuttgart", undefined, "Hauptstraße 5a", "70173", "Stuttgart"],
  ] as const)("%s", (line, country, street, postalCode, city) => {
    expect(splitAddressLine(line, country)).toEqual({ street, postalCode, city });
  });
  test("the submission's country is the phone region", () => {
    const { patient } = mapAnswers(
      [
        { label: "Land", value: "Schweiz" },
        { label: "Mobilnummer", value: "079 123 45 67" },
      ],
      { forms: {}, phoneRegion: "DE" },
      null,
    );
    expect(patient.phone).toBe("+41791234567");
  });
  test("dates with month names in five languages", () => {
    expect(normalizeDate("1er mars 1992")).toBe("1992-03-01");
    expect(normalizeDate("15 de marzo de 1985")).toBe("1985-03-15");
    expect(normalizeDate("3 gennaio 1970")).toBe("1970-01-03");
    expect(normalizeDate("March 3rd, 1994")).toBe("1994-03-03");
  });
});

test('an explicit "ignore" mapping keeps a field out of the record', () => {
  const source = { forms: { f1: { fields: { "Ihre E-Mail": "ignore" as const } } } };
  expect(mapAnswers([{ label: "Ihre E-Mail", value: "a@b.de" }], source, "f1").patient.email).toBeUndefined();
  expect(mapAnswers([{ label: "Ihre E-Mail", value: "a@b.de" }], source, "f2").patient.email).toBe("a@b.de");
});
