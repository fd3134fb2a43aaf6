// What one projector batch adds to the stats counters (shared/stats.ts): counts by UTC day and
// (source, form), and each source's latest event.
import { expect, test } from "bun:test";
import { batchCounts, dayRange, pairField, parsePairField } from "../../shared/stats.ts";

test("a batch is counted by UTC day and (source, form), and keeps each source's latest event", () => {
  const at = (iso: string) => new Date(iso);
  const counts = batchCounts([
    { source: "heyflow", formId: "f1", receivedAt: at("2026-11-28T23:59:59Z") },
    { source: "heyflow", formId: "f1", receivedAt: at("2026-11-29T00:00:01Z") },
    { source: "heyflow", formId: "f1", receivedAt: at("2026-11-29T08:00:00Z") },
    { source: "generic", formId: null, receivedAt: at("2026-11-29T07:00:00Z") },
  ]);
  expect(counts.c.sort()).toEqual(
    [
      ["2026-11-28", pairField("heyflow", "f1"), 1],
      ["2026-11-29", pairField("heyflow", "f1"), 2],
      ["2026-11-29", pairField("generic", null), 1],
    ].sort() as [string, string, number][],
  );
  expect(Object.fromEntries(counts.l)).toEqual({
    heyflow: Date.parse("2026-11-29T08:00:00Z"),
    generic: Date.parse("2026-11-29T07:00:00Z"),
  });
});

test("a form id with any character survives the field name", () => {
  const odd = 'a"b\n,c\t]';
  expect(parsePairField(pairField("typeform", odd))).toEqual({ source: "typeform", formId: odd });
  expect(parsePairField(pairField("generic", null))).toEqual({ source: "generic", formId: null });
});

test("a range of days ends today, oldest first, across a month's end", () => {
  expect(dayRange(new Date("2026-12-01T10:00:00Z"), 3)).toEqual(["2026-11-29", "2026-11-30", "2026-12-01"]);
});
