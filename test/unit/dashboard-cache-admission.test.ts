import { expect, test } from "bun:test";
import { secondMissAdmission } from "../../services/dashboard/cache-admission.ts";

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test("a detail is stored on its second miss within the window, not its first", () => {
  const c = clock();
  const admission = secondMissAdmission({ windowMs: 30_000, now: c.now });
  expect(admission.admit("7")).toBe(false);
  c.advance(29_000);
  expect(admission.admit("7")).toBe(true);
  // Stored: its next miss (the entry expired or was invalidated) starts over.
  expect(admission.admit("7")).toBe(false);
  expect(admission.admit("8")).toBe(false);
});

test("a second miss after the window counts as a first", () => {
  const c = clock();
  const admission = secondMissAdmission({ windowMs: 30_000, now: c.now });
  expect(admission.admit("7")).toBe(false);
  c.advance(30_001);
  expect(admission.admit("7")).toBe(false);
  c.advance(1_000);
  expect(admission.admit("7")).toBe(true);
});

test("remembers at most maxIds first misses, forgetting the oldest first", () => {
  const admission = secondMissAdmission({ windowMs: 60_000, maxIds: 100, now: () => 0 });
  for (let i = 0; i < 101; i++) expect(admission.admit(String(i))).toBe(false);
  // The oldest tenth went when the 101st arrived; the newest are still remembered.
  expect(admission.admit("0")).toBe(false);
  expect(admission.admit("100")).toBe(true);
  expect(admission.admit("50")).toBe(true);
});
