// Sealed cells (shared/db/sealed.ts): an event's canonical form is compressed before it is
// sealed (Postgres cannot compress a sealed value), and one sealed before that still opens.
import { describe, expect, test } from "bun:test";
import { seal } from "../../shared/crypto/envelope.ts";
import { openCell, sealCell, sealedColumn, WEBHOOK_EVENTS } from "../../shared/db/sealed.ts";
import { TEST_KEYS } from "../keys.ts";

const CANONICAL = sealedColumn(WEBHOOK_EVENTS, "canonical_enc");
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
    const sealed = sealCell(TEST_KEYS, CANONICAL, canonical)!;
    expect(openCell(TEST_KEYS, CANONICAL, sealed)).toEqual(canonical);
    expect(sealed.length).toBeLessThan(JSON.stringify(canonical).length * 0.8);
  });

  test("a canonical form sealed as JSON text (before compression, or by keys rotate from a legacy row) still opens", () => {
    const asText = seal(TEST_KEYS.data, CANONICAL.purpose, JSON.stringify(canonical));
    expect(openCell(TEST_KEYS, CANONICAL, asText)).toEqual(canonical);
  });

  test("text columns are sealed as they are", () => {
    const body = JSON.stringify({ anything: "at all", n: 1 });
    expect(openCell(TEST_KEYS, BODY, sealCell(TEST_KEYS, BODY, body))).toBe(body);
  });
});
