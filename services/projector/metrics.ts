// The projector's metrics (names in METRICS, shared/metrics.ts), fed by the consume loop's callbacks.
import type { Meter } from "@opentelemetry/api";
import { counterOf, histogramOf, METRICS } from "../../shared/metrics.ts";
import type { BatchStats } from "./loop.ts";

export function createProjectorMetrics(meter: Meter) {
  const events = counterOf(meter, METRICS.projectorEvents);
  const conflicts = counterOf(meter, METRICS.projectorConflicts);
  const batchSize = histogramOf(meter, METRICS.projectorBatchSize);
  const batchSeconds = histogramOf(meter, METRICS.projectorBatchDuration);
  const deadLetters = counterOf(meter, METRICS.deadLetters);
  return {
    batch(s: BatchStats): void {
      events.add(s.inserted, { result: "inserted" });
      events.add(s.duplicates, { result: "duplicate" });
      events.add(s.erased, { result: "erased" });
      events.add(s.deadLettered, { result: "dead_lettered" });
      conflicts.add(s.conflicts);
      batchSize.record(s.size);
      batchSeconds.record(s.ms / 1000);
    },
    deadLettered(source: string, code: string): void {
      deadLetters.add(1, { source, code });
    },
  };
}
