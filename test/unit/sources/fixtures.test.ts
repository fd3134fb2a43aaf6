// Every fixture goes the way the ingress sends it: signed with the dev secrets, turned into
// a RawRequest, authenticated, then parsed; the expected patient fields must come out.
import { describe, expect, test } from "bun:test";
import { getAdapter } from "../../../shared/sources/registry.ts";
import { fixtureSource, loadFixtures, signFixtureRequest, toRawRequest } from "../../fixtures/load.ts";

const NOW = Date.parse("2024-06-01T12:00:00Z");
const fixtures = loadFixtures();

test("there are fixtures for every dev source", () => {
  expect(fixtures.length).toBeGreaterThanOrEqual(25);
  expect(new Set(fixtures.map((f) => f.source))).toEqual(new Set(["heyflow", "typeform", "google-forms", "generic"]));
});

describe.each(fixtures.map((f) => [`${f.source}/${f.name}`, f] as const))("%s", (_name, fixture) => {
  const source = fixtureSource(fixture);
  const adapter = getAdapter(source.adapter);
  const signed = signFixtureRequest(fixture, fixture.source, NOW);
  const raw = toRawRequest(signed, NOW);

  test("authenticates with the dev secret", () => {
    expect(adapter.authenticate(raw, source)).toMatchObject({ ok: true });
  });

  test("maps to the expected patient", () => {
    const event = adapter.parse(raw, source);
    for (const [field, value] of Object.entries(fixture.expected)) {
      expect({ field, value: (event.patient as Record<string, unknown>)[field] }).toEqual({
        field,
        value: value ?? undefined,
      });
    }
    // Every answer is kept, whatever got mapped.
    expect(event.answers.length).toBeGreaterThan(0);
    for (const [field, c] of Object.entries(event.confidence)) {
      expect(c).toBeGreaterThan(0);
      expect(c).toBeLessThanOrEqual(1);
      expect((event.patient as Record<string, unknown>)[field]).toBeDefined();
    }
  });

  test("form id, provider event id and submittedAt", () => {
    const auth = adapter.authenticate(raw, source);
    if (!auth.ok) throw new Error(auth.message);
    const event = adapter.parse(raw, source);
    if (fixture.formId !== undefined) expect(event.formId).toBe(fixture.formId);
    // Absent in the fixture: Standard Webhooks sources use the webhook-id the signer chose.
    const expectedId = fixture.providerEventId !== undefined ? fixture.providerEventId : signed.headers["webhook-id"];
    expect(adapter.providerEventId(raw, auth)).toBe(expectedId ?? null);
    expect(event.providerEventId).toBe(expectedId ?? null);
    expect(Number.isNaN(Date.parse(event.submittedAt))).toBe(false);
    expect(event.source).toBe(fixture.source);
  });
});
