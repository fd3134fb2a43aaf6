// ops/bench/quiet.ts: the cores' busy share from /proc/stat, and the wait for a quiet second.
import { expect, test } from "bun:test";
import { busyShare, parseCpuLine, waitForQuiet } from "../../ops/bench/quiet.ts";

const stat = (user: number, system: number, idle: number, iowait = 0, steal = 0) =>
  `cpu  ${user} 0 ${system} ${idle} ${iowait} 0 0 ${steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1 2\n`;

test("busy is user, nice, system, irq, softirq and steal; iowait is idle", () => {
  expect(parseCpuLine(stat(100, 50, 800, 50, 10))).toEqual({ busy: 160, total: 1010 });
  expect(() => parseCpuLine("intr 1 2\n")).toThrow("no cpu line");
});

test("the busy share between two readings", () => {
  const share = busyShare(parseCpuLine(stat(100, 50, 800)), parseCpuLine(stat(130, 60, 960)));
  expect(share).toBeCloseTo(0.2, 5);
  expect(busyShare(parseCpuLine(stat(1, 1, 1)), parseCpuLine(stat(1, 1, 1)))).toBe(0);
});

test("waits through busy seconds and returns at the first quiet one", async () => {
  // Readings a second apart: 90% busy, 90% busy, then 5% busy.
  const readings = [stat(0, 0, 0), stat(180, 0, 20), stat(360, 0, 40), stat(370, 0, 230)];
  let i = 0;
  const q = await waitForQuiet({ read: () => readings[Math.min(i++, readings.length - 1)]! });
  expect(q).toEqual({ waitedS: 3, busyPct: 5, quiet: true });
}, 10_000);

test("gives up at the limit, saying the cores were still busy", async () => {
  let busy = 0;
  const read = () => {
    busy += 100;
    return stat(busy, 0, busy / 10);
  };
  const q = await waitForQuiet({ limitS: 1, read });
  expect(q.quiet).toBe(false);
  expect(q.busyPct).toBeGreaterThan(80);
}, 10_000);
