// One chaos run on one topology: start it, put the steady load on, inject each fault in turn
// (waiting for recovery after each), drain, then count: every acknowledged event id must be
// stored exactly once, no patient twice, and the senders must have had quick answers.
import { ADMIN, waitFor } from "../integration/harness.ts";
import { FAULTS, type Fault, type Profile } from "./faults.ts";
import { Load, type WindowStats } from "./load.ts";
import { startTopology, type Topology } from "./topology.ts";

interface FaultResult extends Counted {
  /** Seconds from injection until the ingress acked steadily and a new webhook was stored; null: never. */
  recoverS: number | null;
  /** Seconds from injection to the first refusal a sender saw (null: none); refusedForS: how long they went on. */
  refusedFromS: number | null;
  notes: string[];
  /** Set: hookline does not promise this fault on this topology (Fault.limitation); not a failure. */
  limitation?: string;
}

export interface RunResult {
  natsNodes: number;
  faults: FaultResult[];
  /** Patients beyond one per stored event (each webhook of the load has its own email). */
  duplicatePatients: number;
  /** API lookups by email that did not find exactly one patient (a sample per fault). */
  apiMisses: number;
  unackedAtEnd: number;
  seconds: number;
  problems: string[];
}

const log = (text: string) => console.error(`[chaos] ${text}`);

/** Waits for the ingress to ack steadily again and for a webhook acked after that to be stored. */
async function awaitRecovery(topo: Topology, load: Load, timeoutMs: number): Promise<boolean> {
  try {
    await waitFor("steady 2xx", () => load.okStreak >= 20, timeoutMs, 50);
    const since = Date.now();
    const probe = await waitFor(
      "an ack after recovery",
      () => load.acked.findLast((a) => a.at >= since),
      timeoutMs,
      50,
    );
    await waitFor(
      "the probe stored",
      async () => (await topo.sql`select 1 from webhook_events where event_id = ${probe.eventId}`).length > 0,
      timeoutMs,
      100,
    );
    return true;
  } catch {
    return false;
  }
}

export async function runProfile(
  profile: Profile,
  natsNodes: 1 | 3,
  only: Fault[] = FAULTS,
  recoverTimeoutMs = 90_000,
): Promise<RunResult> {
  const t0 = Date.now();
  const problems: string[] = [];
  const wantDisk = only.some((f) => f.name === "disk-full");
  log(`${profile.name}, ${natsNodes} NATS node(s): starting the topology`);
  const topo = await startTopology({ natsNodes, storeFsMiB: wantDisk ? 96 : 0 });
  const load = new Load({
    targets: topo.ingress.map((s) => s.url),
    rate: profile.rate,
    timeoutMs: 10_000,
    runTag: `c${natsNodes}${Date.now().toString(36)}`,
  });
  const notes = new Map<string, string[]>();
  const recovered = new Map<string, number | null>();
  const injectedAt = new Map<string, number>();
  // A not-promised fault that did not recover leaves NATS refusing: the drain then neither waits
  // long nor fails the run (the earlier windows are still counted, and must still be whole).
  let stuckAfter: string | undefined;
  try {
    load.start();
    await Bun.sleep(profile.leadMs);
    for (const fault of only) {
      load.setWindow(fault.name);
      notes.set(fault.name, []);
      await Bun.sleep(profile.leadMs);
      log(`${natsNodes} node(s): ${fault.name}`);
      const injected = Date.now();
      injectedAt.set(fault.name, injected);
      try {
        await fault.run({ topo, load, profile, note: (t) => notes.get(fault.name)!.push(t) });
      } catch (error) {
        problems.push(`${fault.name}: the fault itself failed: ${(error as Error).message}`);
      }
      // A fault hookline does not promise to come through gets less time.
      const ok = await awaitRecovery(topo, load, fault.limitation?.(natsNodes) ? 10_000 : recoverTimeoutMs);
      recovered.set(fault.name, ok ? (Date.now() - injected) / 1000 : null);
      if (!ok) {
        if (!fault.limitation?.(natsNodes))
          problems.push(`${fault.name}: no recovery within ${recoverTimeoutMs / 1000} s`);
        else stuckAfter = fault.name;
        // What the services said (errors only, LOG_LEVEL=error): the first clue.
        for (const s of [...topo.ingress, ...topo.projector])
          log(`${s.name} ${s.url}: ${s.output().split("\n").slice(-6).join("\n    ")}`);
      }
      log(`${fault.name}: ${ok ? `recovered in ${recovered.get(fault.name)!.toFixed(1)} s` : "NOT recovered"}`);
    }
    load.setWindow("drain");
    const drainProblems: string[] = [];
    const verified = await drainAndVerify(
      topo,
      load,
      only.map((f) => f.name),
      drainProblems,
      stuckAfter ? 10_000 : 60_000,
    );
    if (stuckAfter) notes.get(stuckAfter)?.push(...drainProblems.map((p) => `after it: ${p}`));
    else problems.push(...drainProblems);
    const faults = verified.windows.map((w) => ({
      ...w,
      recoverS: recovered.get(w.fault) ?? null,
      // An attempt started just before the injection can be refused by it: counted from +0.
      refusedFromS: w.seen.firstRefusalAt
        ? Math.max(0, (w.seen.firstRefusalAt - injectedAt.get(w.fault)!) / 1000)
        : null,
      notes: notes.get(w.fault) ?? [],
      limitation: only.find((f) => f.name === w.fault)?.limitation?.(natsNodes),
    }));
    return {
      natsNodes,
      faults,
      duplicatePatients: verified.duplicatePatients,
      apiMisses: verified.apiMisses,
      unackedAtEnd: stuckAfter ? 0 : load.unacked,
      seconds: (Date.now() - t0) / 1000,
      problems,
    };
  } finally {
    await load.stop(false).catch(() => {});
    await topo.close().catch((e) => log(`closing: ${(e as Error).message}`));
  }
}

export interface Counted {
  fault: string;
  acked: number;
  stored: number;
  lost: number;
  duplicated: number;
  refusedForS: number;
  seen: WindowStats;
}

/**
 * Stops the load (retrying until everything sent is acked), waits for the projectors to empty
 * the stream, then looks for every acknowledged id of each window in Postgres (stored exactly
 * once?), for duplicate rows and patients, and for a sample of each window's patients through
 * the dashboard API.
 */
export async function drainAndVerify(
  topo: Topology,
  load: Load,
  windows: string[],
  problems: string[],
  drainMs = 60_000,
): Promise<{ windows: Counted[]; duplicatePatients: number; apiMisses: number }> {
  await load.stop(true, drainMs);
  await waitFor(
    "the backlog projected",
    async () => {
      // Pending and unacked, not the stream's message count: after the disk-full fault
      // nats-server 2.12.3 was seen to keep a few acked messages in the work queue.
      const b = await topo.backlog();
      return b.pending === 0 && b.ackPending === 0;
    },
    drainMs * 2,
    250,
  ).catch(async (e) => {
    const b = await topo.backlog().catch(() => undefined);
    problems.push(`drain: ${(e as Error).message} (${JSON.stringify(b)})`);
    for (const s of topo.projector) log(`${s.name}: ${s.output().split("\n").slice(-4).join("\n    ")}`);
  });
  // A work queue holds only unacked messages: any left once nothing is pending were skipped.
  const left = await topo.backlog();
  if (left.messages > 0)
    problems.push(
      `${left.messages} messages left in WEBHOOKS that the consumer will not deliver (stream last seq ${left.lastSeq}, consumer delivered up to ${left.deliveredSeq})`,
    );
  const counted: Counted[] = [];
  for (const window of windows) {
    const ids = [...new Set(load.acked.filter((a) => a.window === window).map((a) => a.eventId))];
    const rows = ids.length
      ? await topo.sql<{ event_id: string; n: number }[]>`
          select event_id, count(*)::int as n from webhook_events where event_id in ${topo.sql(ids)} group by event_id`
      : [];
    const seen = load.windows.get(window)!;
    counted.push({
      fault: window,
      acked: ids.length,
      stored: rows.length,
      lost: ids.length - rows.length,
      duplicated: rows.reduce((sum, r) => sum + r.n - 1, 0),
      refusedForS: seen.firstRefusalAt ? (seen.lastRefusalAt - seen.firstRefusalAt) / 1000 : 0,
      seen,
    });
  }
  const [counts] = await topo.sql<{ patients: number; events: number; rows: number }[]>`
    select (select count(*)::int from patients) as patients,
           (select count(distinct event_id)::int from webhook_events) as events,
           (select count(*)::int from webhook_events) as rows`;
  if (counts!.rows !== counts!.events) problems.push(`${counts!.rows - counts!.events} duplicate webhook_events rows`);
  // A sample per window through the API: each acked email finds exactly one patient.
  let apiMisses = 0;
  for (const window of windows) {
    for (const a of load.acked.filter((x) => x.window === window).slice(-3)) {
      const res = await fetch(`${topo.dashboard.url}/api/v1/patients?q=${encodeURIComponent(a.email)}`, {
        headers: ADMIN,
      });
      const body = (await res.json()) as { items?: unknown[] };
      if (res.status !== 200 || body.items?.length !== 1) apiMisses++;
    }
  }
  // Each webhook of the load carries its own email: one patient per stored event.
  return { windows: counted, duplicatePatients: counts!.patients - counts!.events, apiMisses };
}
