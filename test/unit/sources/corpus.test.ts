// The corpus (test/corpus, written from the tools' public payload documentation, apart from
// the rule fixtures) through the adapters: at least 99% of fields correct, at most 0.5% in a
// wrong field, and every value kept as sent (it failed validation) flagged low confidence.
import { expect, test } from "bun:test";
import { formatScore, loadCorpus, scoreCorpus } from "../../corpus/score.ts";

test("the corpus has at least 60 payloads across the four sources", () => {
  const cases = loadCorpus();
  expect(cases.length).toBeGreaterThanOrEqual(60);
  const bySource = Map.groupBy(cases, (c) => c.source);
  expect([...bySource.keys()].sort()).toEqual(["generic", "google-forms", "heyflow", "typeform"]);
  for (const list of bySource.values()) expect(list.length).toBeGreaterThanOrEqual(12);
});

test("corpus: >= 99% of fields correct, <= 0.5% wrong, kept values flagged", () => {
  const score = scoreCorpus();
  console.log(formatScore(score, true));
  expect(score.correct / score.fields).toBeGreaterThanOrEqual(0.99);
  expect(score.wrong / score.fields).toBeLessThanOrEqual(0.005);
  expect(score.flagged).toBe(score.flaggedOf);
});
