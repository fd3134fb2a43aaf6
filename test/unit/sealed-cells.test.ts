// Sealed cells (shared/db/sealed.ts): an event's canonical form is compressed before it is
// sealed (Postgres cannot compress a sealed value), and one sealed before that still opens; a
// patient's encrypted fields are sealed as one value, a value in a field's own column winning.
import { describe, expect, test } from "bun:test";
import { open, seal } from "../../shared/crypto/envelope.ts";
import {
  CANONICAL_FORM,
  holdsUnpacked,
  openCell,
  openPacked,
  PACKED_PATIENT_FIELDS,
  sealCell,
  sealedColumn,
  sealPacked,
  WEBHOOK_EVENTS,
} from "../../shared/db/sealed.ts";
import { TEST_KEYS } from "../keys.ts";

const BODY = sealedColumn(WEBHOOK_EVENTS, "body_enc");

const canonical = {
  source: "heyflow",
  formId: "anfrage",
  submittedAt: "2026-11-29T06:00:00.000Z",
  eventId: "evt_1",
  patient: { firstName: "Ada", lastName: "Lovelace", email: "ada@example.com", phone: "+4915112345678" },
  answers: ["Vorname", "Nachname", "E-Mail", "Telefon", "Geburtsdatum", "PLZ", "Stadt", "Einwilligung"].map(
    (label, i) => ({
      label,
      value: `value ${i} of the answer to ${label}`,
      fieldId: `field_${i}`,
      fieldType: "short_text",
    }),
  ),
};

describe("sealed cells", () => {
  test("an event's canonical form round-trips, sealed smaller than its JSON", () => {
    const sealed = sealCell(TEST_KEYS, CANONICAL_FORM, canonical)!;
    expect(openCell(TEST_KEYS, CANONICAL_FORM, sealed)).toEqual(canonical);
    expect(sealed.length).toBeLessThan(JSON.stringify(canonical).length * 0.8);
  });

  test("a canonical form sealed as JSON text (before compression, or by keys rotate from a legacy row) still opens", () => {
    const asText = seal(TEST_KEYS.data, CANONICAL_FORM.purpose, JSON.stringify(canonical));
    expect(openCell(TEST_KEYS, CANONICAL_FORM, asText)).toEqual(canonical);
  });

  test("text columns are sealed as they are", () => {
    const body = JSON.stringify({ anything: "at all", n: 1 });
    expect(openCell(TEST_KEYS, BODY, sealCell(TEST_KEYS, BODY, body))).toBe(body);
  });
});

describe("packed fields", () => {
  const packed = PACKED_PATIENT_FIELDS;
  const part = (name: string) => packed.parts.find((p) => p.name === name)!.sealed;
  const NONE = Object.fromEntries(packed.parts.map((p) => [p.name, null]));

  test("a patient's encrypted fields are one sealed value; nulls are left out, and none at all is null", () => {
    const sealed = sealPacked(TEST_KEYS, packed, { email: "ada@example.com", phone: null, dateOfBirth: "1815-12-10" })!;
    expect(JSON.parse(open(TEST_KEYS.data, packed.purpose, sealed).toString("utf8"))).toEqual({
      email: "ada@example.com",
      dateOfBirth: "1815-12-10",
    });
    expect(openPacked(TEST_KEYS, packed, { [packed.column]: sealed })).toEqual({
      ...NONE,
      email: "ada@example.com",
      dateOfBirth: "1815-12-10",
    });
    expect(sealPacked(TEST_KEYS, packed, { email: null, firstName: "Ada" })).toBeNull();
    // Bound to its purpose: it does not open as one field's value.
    expect(() => openCell(TEST_KEYS, part("email"), sealed)).toThrow("does not open");
  });

  test("a value in a field's own column wins over the packed one: every packed write clears those, so it came later", () => {
    const row = {
      [packed.column]: sealPacked(TEST_KEYS, packed, { email: "ada@example.com", phone: "+4930111111" }),
      [part("phone").column]: sealCell(TEST_KEYS, part("phone"), "+4930222222"),
      [part("street").legacy]: "Neuweg 1",
    };
    expect(openPacked(TEST_KEYS, packed, row)).toEqual({
      ...NONE,
      email: "ada@example.com",
      phone: "+4930222222",
      street: "Neuweg 1",
    });
    expect(holdsUnpacked(packed, row)).toBe(true);
    expect(holdsUnpacked(packed, { [packed.column]: row[packed.column] })).toBe(false);
  });

  test("a row from before packing is read from each field's own sealed column, else its column in clear", () => {
    const row = {
      [packed.column]: null,
      [part("email").column]: sealCell(TEST_KEYS, part("email"), "old@example.com"),
      [part("phone").legacy]: "+4930123456",
    };
    expect(openPacked(TEST_KEYS, packed, row)).toEqual({ ...NONE, email: "old@example.com", phone: "+4930123456" });
  });
});
