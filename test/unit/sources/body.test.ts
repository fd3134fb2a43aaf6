import { describe, expect, test } from "bun:test";
import { toIsoTimestamp } from "../../../shared/sources/body.ts";

describe("provider timestamps", () => {
  const receipt = Date.UTC(2026, 10, 28, 12, 0, 0);
  test("ISO strings, unix seconds and milliseconds", () => {
    expect(toIsoTimestamp("2026-11-01T10:00:00Z", receipt)).toBe("2026-11-01T10:00:00.000Z");
    expect(toIsoTimestamp(1_790_000_000, receipt)).toBe(new Date(1_790_000_000_000).toISOString());
    expect(toIsoTimestamp("1790000000000", receipt)).toBe(new Date(1_790_000_000_000).toISOString());
  });
  test("absent, unparseable or out-of-range values fall back to the receipt time", () => {
    const fallback = new Date(receipt).toISOString();
    expect(toIsoTimestamp(undefined, receipt)).toBe(fallback);
    expect(toIsoTimestamp("next tuesday-ish", receipt)).toBe(fallback);
    expect(toIsoTimestamp(1e20, receipt)).toBe(fallback);
    expect(toIsoTimestamp(-1e20, receipt)).toBe(fallback);
  });
});
