// Field-level score of the mapper over the corpus (test/corpus/<source>/*.json): payloads
// written from each tool's public payload documentation, kept apart from the rule fixtures
// in test/fixtures (which were written alongside the rules). Each file names every patient
// field a person reading the payload would fill, so a field the mapper fills beyond them
// counts as wrong: a value in the wrong field is the worst outcome, worse than a missing one.
import { join } from "node:path";
import { getAdapter } from "../../shared/sources/registry.ts";
import type { CanonicalEvent, SourceConfig } from "../../shared/sources/types.ts";
import { type Fixture, fixtureSource, loadFixtures, signFixtureRequest, toRawRequest } from "../fixtures/load.ts";

const CORPUS_DIR = import.meta.dir;

export interface CorpusCase extends Fixture {
  /** Fields whose value was kept as sent (it failed validation): the mapper must flag them low confidence. */
  lowConfidence?: string[];
}

type Outcome = "correct" | "wrong" | "missing";

interface FieldResult {
  case: string;
  field: string;
  outcome: Outcome;
  expected?: unknown;
  actual?: unknown;
}

export interface Score {
  cases: number;
  fields: number;
  correct: number;
  wrong: number;
  missing: number;
  /** Expected low-confidence fields that came out flagged (confidence below LOW_CONFIDENCE). */
  flagged: number;
  flaggedOf: number;
  results: FieldResult[];
}

/** Below this a field is "low confidence": shown for review (the mapper's own threshold). */
const LOW_CONFIDENCE = 0.5;

export function loadCorpus(dir: string = CORPUS_DIR): CorpusCase[] {
  return loadFixtures(dir) as CorpusCase[];
}

/** Parses one case as the ingress and projector would (signed, authenticated, parsed). */
function parseCase(c: CorpusCase, now: number, source: SourceConfig = fixtureSource(c)): CanonicalEvent {
  const raw = toRawRequest(signFixtureRequest(c, c.source, now, { sourceConfig: source }), now);
  return getAdapter(source.adapter).parse(raw, source);
}

/** Compares one case's patient record with its expectation, field by field. */
export function scoreCase(
  c: CorpusCase,
  patient: Record<string, unknown>,
  confidence: Record<string, number | undefined> = {},
): { results: FieldResult[]; flagged: number; flaggedOf: number } {
  const name = `${c.source}/${c.name}`;
  const results: FieldResult[] = [];
  for (const [field, expected] of Object.entries(c.expected)) {
    const actual = patient[field];
    if (expected === null) {
      if (actual !== undefined) results.push({ case: name, field, outcome: "wrong", expected: null, actual });
      continue;
    }
    const outcome: Outcome = actual === expected ? "correct" : actual === undefined ? "missing" : "wrong";
    results.push({ case: name, field, outcome, expected, actual });
  }
  for (const [field, actual] of Object.entries(patient)) {
    if (actual !== undefined && !(field in c.expected))
      results.push({ case: name, field, outcome: "wrong", expected: undefined, actual });
  }
  const low = c.lowConfidence ?? [];
  const flagged = low.filter((f) => (confidence[f] ?? 1) < LOW_CONFIDENCE).length;
  return { results, flagged, flaggedOf: low.length };
}

export function scoreCorpus(cases: CorpusCase[] = loadCorpus(), now = Date.parse("2025-06-01T12:00:00Z")): Score {
  const score: Score = {
    cases: cases.length,
    fields: 0,
    correct: 0,
    wrong: 0,
    missing: 0,
    flagged: 0,
    flaggedOf: 0,
    results: [],
  };
  for (const c of cases) {
    const event = parseCase(c, now);
    const one = scoreCase(c, event.patient as Record<string, unknown>, event.confidence);
    score.results.push(...one.results);
    score.flagged += one.flagged;
    score.flaggedOf += one.flaggedOf;
  }
  for (const r of score.results) score[r.outcome]++;
  score.fields = score.results.length;
  return score;
}

const pct = (n: number, of: number) => `${((n / Math.max(of, 1)) * 100).toFixed(1)}%`;

/** The figures as printed by ops/mapping-score. */
export function formatScore(s: Score, verbose = false): string {
  const lines = [
    `corpus: ${s.cases} payloads, ${s.fields} fields (${join("test", "corpus")})`,
    `correct ${s.correct} (${pct(s.correct, s.fields)})  wrong ${s.wrong} (${pct(s.wrong, s.fields)})  missing ${s.missing} (${pct(s.missing, s.fields)})`,
    `kept-as-sent values flagged low confidence: ${s.flagged}/${s.flaggedOf}`,
  ];
  if (verbose)
    for (const r of s.results.filter((r) => r.outcome !== "correct"))
      lines.push(
        `  ${r.outcome.padEnd(7)} ${r.case} ${r.field}: expected ${JSON.stringify(r.expected)}, got ${JSON.stringify(r.actual)}`,
      );
  return lines.join("\n");
}
