import { describe, expect, test } from "bun:test";
import { matchLabel } from "../../../shared/sources/labels.ts";
import { mapAnswers } from "../../../shared/sources/mapper.ts";
import { splitFullName } from "../../../shared/sources/names.ts";
import {
  normalizeConsent,
  normalizeCountry,
  normalizeDate,
  normalizeEmail,
  normalizeGender,
  normalizePhone,
  normalizePostalCode,
} from "../../../shared/sources/normalize.ts";

const map = (
  answers: { label: string; value: unknown; fieldId?: string; ref?: string; fieldType?: string }[],
  extra = {},
) => mapAnswers(answers, { forms: {}, ...extra }, "form-1");

describe("labels (EN + DE)", () => {
  test.each([
    ["Vorname", "firstName"],
    ["Nachname", "lastName"],
    ["E-Mail-Adresse", "email"],
    ["Handynummer", "phone"],
    ["Geburtsdatum", "dateOfBirth"],
    ["PLZ", "postalCode"],
    ["Ort", "city"],
    ["Your email", "email"],
    ["Mobile phone", "phone"],
    ["Zip code", "postalCode"],
    ["Strasse und Hausnummer", "street"],
    ["Straße & Hausnummer", "street"],
    ["What is your first name?", "firstName"],
    ["Wie lautet Ihr Nachname?", "lastName"],
    ["Mobiltelefonnummer", "phone"],
    ["first_name", "firstName"],
    ["lastName", "lastName"],
    ["Email address", "email"],
    ["Anrede", "gender"],
    ["Land", "country"],
    ["Datenschutzerklärung", "consent"],
    ["PLZ / Ort", "postalCity"],
  ])("%s → %s", (label, field) => {
    expect(matchLabel(label)?.field).toBe(field as never);
  });
  test.each([
    "Is this your first visit?",
    "Name des Hausarztes",
    "Emergency contact phone",
    "Country code",
    "E-Mail wiederholen",
    "Timestamp",
  ])("%s → nothing", (label) => {
    expect(matchLabel(label)).toBeUndefined();
  });
  test("exact beats contained, contained beats compound", () => {
    expect(matchLabel("E-Mail")!.score).toBeGreaterThan(matchLabel("Please tell us the e-mail you use most")!.score);
  });
});

describe("normalizers", () => {
  test("phones to E.164 by region; invalid → undefined", () => {
    expect(normalizePhone("0171 1234567", "DE")).toBe("+491711234567");
    expect(normalizePhone("+49 (0)30 123456", "DE")).toBe("+4930123456");
    expect(normalizePhone("(415) 555-2671", "US")).toBe("+14155552671");
    expect(normalizePhone("0049 171 1234567", "DE")).toBe("+491711234567");
    expect(normalizePhone("12", "DE")).toBeUndefined();
    expect(normalizePhone("call me maybe", "DE")).toBeUndefined();
  });
  test("dates to yyyy-mm-dd, per date order", () => {
    expect(normalizeDate("15.03.1985")).toBe("1985-03-15");
    expect(normalizeDate("1.2.85", "DMY", 2024)).toBe("1985-02-01");
    expect(normalizeDate("1.2.05", "DMY", 2024)).toBe("2005-02-01");
    expect(normalizeDate("03/04/1985", "MDY")).toBe("1985-03-04");
    expect(normalizeDate("03/04/1985", "DMY")).toBe("1985-04-03");
    expect(normalizeDate("03/15/1985", "DMY")).toBe("1985-03-15");
    expect(normalizeDate("1985-03-15")).toBe("1985-03-15");
    expect(normalizeDate("15. März 1985")).toBe("1985-03-15");
    expect(normalizeDate("March 15, 1985")).toBe("1985-03-15");
    expect(normalizeDate("31.02.1990")).toBeUndefined();
    expect(normalizeDate("next tuesday")).toBeUndefined();
  });
  test("gender", () => {
    for (const v of ["Herr", "Männlich", "male", "M", "Mr."]) expect(normalizeGender(v)).toBe("male");
    for (const v of ["Frau", "Weiblich", "female", "w", "Mrs"]) expect(normalizeGender(v)).toBe("female");
    for (const v of ["divers", "Diverse", "non-binary", "Other"]) expect(normalizeGender(v)).toBe("diverse");
    expect(normalizeGender("Keine Angabe")).toBeUndefined();
  });
  test("consent", () => {
    for (const v of ["Ja", "yes", "true", "accepted", true, 1, ["Ich stimme zu"], "on"])
      expect(normalizeConsent(v)?.value).toBe(true);
    for (const v of ["Nein", "no", "false", false, 0, [], "Ich stimme nicht zu"])
      expect(normalizeConsent(v)?.value).toBe(false);
    expect(normalizeConsent("")).toBeUndefined();
    expect(normalizeConsent("Datenschutzhinweise")).toEqual({ value: true, certain: false });
  });
  test("email, postal code, country", () => {
    expect(normalizeEmail(" Max@Example.COM ")).toBe("max@example.com");
    expect(normalizeEmail("mailto:a@b.de")).toBe("a@b.de");
    expect(normalizeEmail("a(at)b.de")).toBeUndefined();
    expect(normalizePostalCode(1067, "DE")).toBe("01067");
    expect(normalizePostalCode("sw1a 1aa", "GB")).toBe("SW1A 1AA");
    expect(normalizePostalCode("abc", "DE")).toBeUndefined();
    expect(normalizeCountry("Deutschland")).toEqual({ value: "DE", recognised: true });
    expect(normalizeCountry("Atlantis")).toEqual({ value: "Atlantis", recognised: false });
  });
  test("full names", () => {
    expect(splitFullName("Anne-Marie Müller-Lüdenscheidt")).toEqual({
      firstName: "Anne-Marie",
      lastName: "Müller-Lüdenscheidt",
      salutation: undefined,
    });
    expect(splitFullName("Ludwig van Beethoven")).toMatchObject({ firstName: "Ludwig", lastName: "van Beethoven" });
    expect(splitFullName("Frau Dr. Eva Braun")).toMatchObject({
      firstName: "Eva",
      lastName: "Braun",
      salutation: "Frau",
    });
    expect(splitFullName("Müller, Anna")).toMatchObject({ firstName: "Anna", lastName: "Müller" });
    expect(splitFullName("Zoë")).toEqual({ firstName: "Zoë", salutation: undefined });
  });
});

describe("mapAnswers", () => {
  test("explicit mapping by field id, ref or label wins with confidence 1", () => {
    const answers = [
      { label: "Vorname", value: "Max", fieldId: "f1" },
      { label: "Kontakt", value: "m@x.de" },
      { label: "Q3", value: "0171 1234567", ref: "tel_ref" },
    ];
    const forms = {
      "form-1": { fields: { f1: "lastName" as const, kontakt: "email" as const, tel_ref: "phone" as const } },
    };
    const { patient, confidence, provenance } = map(answers, { forms });
    expect(patient).toMatchObject({ lastName: "Max", email: "m@x.de", phone: "+491711234567" });
    expect(confidence).toMatchObject({ lastName: 1, email: 1, phone: 1 });
    expect(provenance.email).toEqual({ label: "Kontakt", method: "explicit" });
  });
  test("a '*' mapping applies to every form of the source", () => {
    const { patient } = mapAnswers(
      [{ label: "Q9", value: "x@y.de" }],
      { forms: { "*": { fields: { Q9: "email" } } } },
      "any",
    );
    expect(patient.email).toBe("x@y.de");
  });
  test("confidence: explicit > exact label > contained label > shape only", () => {
    const { confidence } = map([
      { label: "E-Mail", value: "a@b.de" },
      { label: "What is the best number to call you back on?", value: "030 1234567" },
      { label: "q", value: "12.12.1980" },
    ]);
    expect(confidence.email).toBe(0.95);
    expect(confidence.phone).toBeGreaterThan(0.4);
    expect(confidence.dateOfBirth).toBe(0.4);
  });
  test("invalid phone under a phone label is kept as sent, low confidence (issue #14)", () => {
    const { patient, confidence, provenance } = map([{ label: "Telefon", value: "abends" }]);
    expect(patient.phone).toBe("abends");
    expect(confidence.phone).toBeLessThan(0.5);
    expect(provenance.phone).toMatchObject({ label: "Telefon", keptAsSent: true });
  });
  test("a visible answer beats a hidden field", () => {
    const { patient } = map([
      { label: "email", value: "hidden@x.de", fieldType: "hidden" },
      { label: "E-Mail", value: "typed@x.de" },
    ]);
    expect(patient.email).toBe("typed@x.de");
  });
  test("calculated answers are never mapped", () => {
    const { patient } = map([{ label: "phone", value: "030 1234567", fieldType: "calculated" }]);
    expect(patient.phone).toBeUndefined();
  });
  test("fullName from parts, parts from fullName, salutation gives gender", () => {
    expect(
      map([
        { label: "Vorname", value: "Max" },
        { label: "Nachname", value: "Muster" },
      ]).patient.fullName,
    ).toBe("Max Muster");
    expect(map([{ label: "Name", value: "Herr Max Muster" }]).patient).toMatchObject({
      firstName: "Max",
      lastName: "Muster",
      gender: "male",
    });
  });
  test("phone region and date order come from the source", () => {
    const { patient } = map(
      [
        { label: "Phone", value: "(415) 555-2671" },
        { label: "DOB", value: "04/05/1990" },
      ],
      { phoneRegion: "US", dateOrder: "MDY" },
    );
    expect(patient).toMatchObject({ phone: "+14155552671", dateOfBirth: "1990-04-05" });
  });
});
