// Process and runtime metrics every service exports (names in METRICS, shared/metrics.ts):
// CPU, memory, file descriptors, heap and event-loop delay, all read at scrape time except
// the event-loop delay, which perf_hooks samples continuously.
//
// No GC metrics: Bun's PerformanceObserver accepts the "gc" entry type but never delivers an
// entry (PerformanceObserver.supportedEntryTypes has no "gc" in Bun 1.4.5), so there is
// nothing to count. The heap gauges show what collections leave behind.
import { readdirSync, readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Meter } from "@opentelemetry/api";
import { gaugeOf, METRICS, observableCounterOf } from "./metrics.ts";
import { VERSION } from "./version.ts";

/** Event-loop delay windows: long enough to catch a stall, short enough to be current. */
const WINDOW_MS = 10_000;

interface DelayWindow {
  p50: number;
  p99: number;
  max: number;
}

/** The soft limit on open files from /proc/self/limits; undefined off Linux. */
function maxFds(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}

export function startRuntimeMetrics(meter: Meter): { stop(): void } {
  const startTime = Date.now() / 1000 - process.uptime();
  gaugeOf(meter, METRICS.buildInfo).addCallback((r) =>
    r.observe(1, { version: VERSION, runtime: `bun ${Bun.version}` }),
  );
  observableCounterOf(meter, METRICS.processCpu).addCallback((r) => {
    const { user, system } = process.cpuUsage();
    r.observe((user + system) / 1e6);
  });
  gaugeOf(meter, METRICS.processResidentMemory).addCallback((r) => r.observe(process.memoryUsage.rss()));
  gaugeOf(meter, METRICS.processStartTime).addCallback((r) => r.observe(startTime));
  gaugeOf(meter, METRICS.processOpenFds).addCallback((r) => {
    try {
      // The listing itself holds one descriptor open while it reads.
      r.observe(readdirSync("/proc/self/fd").length - 1);
    } catch {}
  });
  const limit = maxFds();
  if (limit !== undefined) gaugeOf(meter, METRICS.processMaxFds).addCallback((r) => r.observe(limit));
  gaugeOf(meter, METRICS.heapUsed).addCallback((r) => r.observe(process.memoryUsage().heapUsed));
  gaugeOf(meter, METRICS.heapSize).addCallback((r) => r.observe(process.memoryUsage().heapTotal));

  // Percentiles of a fixed window, not since start (which would flatten every stall) and not
  // since the last scrape (which would depend on who else reads /metrics).
  const histogram = monitorEventLoopDelay({ resolution: 20 });
  histogram.enable();
  const read = (): DelayWindow | undefined =>
    histogram.count > 0
      ? { p50: histogram.percentile(50) / 1e9, p99: histogram.percentile(99) / 1e9, max: histogram.max / 1e9 }
      : undefined;
  let last: DelayWindow | undefined;
  const timer = setInterval(() => {
    last = read() ?? last;
    histogram.reset();
  }, WINDOW_MS);
  timer.unref();
  // Until the first window closes, the samples so far.
  const delay = (pick: (w: DelayWindow) => number) => (r: { observe(v: number): void }) => {
    const w = last ?? read();
    if (w) r.observe(pick(w));
  };
  gaugeOf(meter, METRICS.eventLoopDelayP50).addCallback(delay((w) => w.p50));
  gaugeOf(meter, METRICS.eventLoopDelayP99).addCallback(delay((w) => w.p99));
  gaugeOf(meter, METRICS.eventLoopDelayMax).addCallback(delay((w) => w.max));
  return {
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
