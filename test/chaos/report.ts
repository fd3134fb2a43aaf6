// The chaos run's table (one row a fault: acknowledged, stored, lost, duplicated, seconds to
// recover, what the senders saw) and its verdict.
import type { RunResult } from "./run.ts";

const pad = (s: string | number, n: number) => String(s).padStart(n);

export function formatRun(run: RunResult, profile: string): string {
  const lines = [
    `chaos ${profile}, ${run.natsNodes} NATS node(s), ${run.seconds.toFixed(0)} s`,
    "| fault | acked | stored | lost | dup | recover s | refused s | senders saw (2xx/429/503/other 5xx/timeout/refused) | slowest refusal ms | notes |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
  ];
  for (const f of run.faults) {
    const o = f.seen.outcomes;
    lines.push(
      `| ${f.fault} | ${pad(f.acked, 5)} | ${pad(f.stored, 5)} | ${f.lost} | ${f.duplicated} | ${
        f.recoverS === null ? "never" : f.recoverS.toFixed(1)
      } | ${f.refusedFromS === null ? "-" : `${f.refusedForS.toFixed(1)} from +${f.refusedFromS.toFixed(1)}`} | ${o["2xx"]}/${o["429"]}/${o["503"]}/${o["5xx"]}/${o.timeout}/${o.refused} | ${f.seen.slowestRefusalMs} | ${[...(f.limitation ? ["NOT PROMISED (see README)"] : []), ...f.notes].join("; ")} |`,
    );
  }
  lines.push(
    `duplicate patients: ${run.duplicatePatients}; API lookups not finding exactly one patient: ${run.apiMisses}; unacked at end: ${run.unackedAtEnd}`,
  );
  return lines.join("\n");
}

/** The promise, as checks: what makes a run fail. */
export function verdict(run: RunResult, senderTimeoutMs = 10_000): string[] {
  const problems = [...run.problems];
  for (const f of run.faults) {
    if (f.limitation) continue;
    if (f.lost) problems.push(`${f.fault}: ${f.lost} acknowledged webhooks lost`);
    if (f.duplicated) problems.push(`${f.fault}: ${f.duplicated} stored twice`);
    if (f.seen.hangs) problems.push(`${f.fault}: ${f.seen.hangs} requests unanswered after ${senderTimeoutMs} ms`);
    if (f.seen.outcomes["5xx"]) problems.push(`${f.fault}: ${f.seen.outcomes["5xx"]} 5xx other than 503`);
  }
  if (run.duplicatePatients) problems.push(`${run.duplicatePatients} duplicate patients`);
  if (run.apiMisses) problems.push(`${run.apiMisses} API lookups did not find exactly one patient`);
  if (run.unackedAtEnd) problems.push(`${run.unackedAtEnd} webhooks never acknowledged despite retries`);
  return problems;
}
