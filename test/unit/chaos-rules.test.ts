// The chaos suite's pure rules: the senders' retry backoff and the soak's "memory grows without
// bound" verdict (test/chaos).
import { expect, test } from "bun:test";
import { retryDelayMs } from "../chaos/load.ts";
import { growsWithoutBound } from "../chaos/soak.ts";

test("senders back off from 200 ms, doubling to 3 s, sooner when Retry-After says so", () => {
  expect([1, 2, 3, 4, 5, 9].map((n) => retryDelayMs(n))).toEqual([200, 400, 800, 1600, 3000, 3000]);
  expect(retryDelayMs(5, 1)).toBe(1000);
  expect(retryDelayMs(1, 5)).toBe(200);
  expect(retryDelayMs(3, 0)).toBe(100);
});

test("memory that levels off passes; memory that climbs every minute fails", () => {
  expect(growsWithoutBound([60, 120, 140, 150, 152, 151, 153, 150, 152])).toBe(false);
  expect(growsWithoutBound([60, 100, 130, 160, 190, 220, 250, 280])).toBe(true);
  // Too few samples past warm-up to judge.
  expect(growsWithoutBound([60, 100, 200, 400])).toBe(false);
  // Noisy but flat.
  expect(growsWithoutBound([80, 100, 140, 95, 130, 100, 135, 98])).toBe(false);
});
