import { expect, test } from "bun:test";
import { recentReadAdmission } from "../../services/dashboard/cache-admission.ts";

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test("a patient's first read skips the cache; reads within the window of the last one use it", () => {
  const c = clock();
  const admission = recentReadAdmission({ windowMs: 30_000, now: c.now });
  expect(admission.admit("7")).toBe(false);
  c.advance(29_000);
  expect(admission.admit("7")).toBe(true);
  // Each read renews the window: 58 s after the first, 29 s after the last.
  c.advance(29_000);
  expect(admission.admit("7")).toBe(true);
  expect(admission.admit("8")).toBe(false);
});

test("a read after the window is a first read again", () => {
  const c = clock();
  const admission = recentReadAdmission({ windowMs: 30_000, now: c.now });
  expect(admission.admit("7")).toBe(false);
  c.advance(30_001);
  expect(admission.admit("7")).toBe(false);
  c.advance(1_000);
  expect(admission.admit("7")).toBe(true);
});

test("remembers at most maxIds patients, forgetting the least recently read first", () => {
  const admission = recentReadAdmission({ windowMs: 60_000, maxIds: 100, now: () => 0 });
  for (let i = 0; i < 100; i++) expect(admission.admit(String(i))).toBe(false);
  // "0" read again: now the most recent, so it outlives the eviction below.
  expect(admission.admit("0")).toBe(true);
  expect(admission.admit("100")).toBe(false);
  // The least recent tenth went when the 101st arrived: 1 to 11, not 0.
  expect(admission.admit("1")).toBe(false);
  expect(admission.admit("0")).toBe(true);
  expect(admission.admit("50")).toBe(true);
});
