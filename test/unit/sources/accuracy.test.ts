// Field-level mapping accuracy over all fixtures: correct fields / expected fields.
// `null` in a fixture's expectation means the field must stay unset, and counts too.
import { expect, test } from "bun:test";
import { getAdapter } from "../../../shared/sources/registry.ts";
import { fixtureSource, loadFixtures, signFixtureRequest, toRawRequest } from "../../fixtures/load.ts";

test("mapping accuracy over all fixtures is at least 95%", () => {
  const now = Date.parse("2024-06-01T12:00:00Z");
  const fixtures = loadFixtures();
  let correct = 0;
  let total = 0;
  const failures: string[] = [];
  for (const fixture of fixtures) {
    const source = fixtureSource(fixture);
    const raw = toRawRequest(signFixtureRequest(fixture, fixture.source, now), now);
    const patient = getAdapter(source.adapter).parse(raw, source).patient as Record<string, unknown>;
    for (const [field, expected] of Object.entries(fixture.expected)) {
      total++;
      const actual = patient[field];
      if (actual === (expected ?? undefined)) correct++;
      else
        failures.push(
          `${fixture.source}/${fixture.name}: ${field} expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
        );
    }
  }
  const accuracy = correct / total;
  console.log(
    `mapping accuracy: ${(accuracy * 100).toFixed(1)}% (${correct}/${total} fields over ${fixtures.length} fixtures)`,
  );
  for (const failure of failures) console.log(`  mismatch ${failure}`);
  expect(total).toBeGreaterThan(150);
  expect(accuracy).toBeGreaterThanOrEqual(0.95);
});
