// ops/bench/progress.ts: the elapsed time on each progress line.
import { expect, test } from "bun:test";
import { elapsedStamp } from "../../ops/bench/progress.ts";

test("m:ss, rounded to the second before it is split (59.6 s is 1:00, not 0:60)", () => {
  expect(elapsedStamp(0)).toBe("0:00");
  expect(elapsedStamp(9.4)).toBe("0:09");
  expect(elapsedStamp(59.6)).toBe("1:00");
  expect(elapsedStamp(599.5)).toBe("10:00");
  expect(elapsedStamp(612.2)).toBe("10:12");
});
