// The faults, each injected into a running topology under load and healed the way an operator
// or Kubernetes would (a killed process restarted, a stopped server started again). A fault
// returns when it is healed; the runner then waits for recovery and, at the end, checks.
import { readFileSync, rmSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { STREAM } from "../../shared/nats.ts";
import { waitFor } from "../integration/harness.ts";
import type { Load } from "./load.ts";
import type { Topology } from "./topology.ts";

export interface Profile {
  name: "quick" | "full";
  /** New webhooks a second, steady. */
  rate: number;
  /** Steady load before each fault (ms). */
  leadMs: number;
  projectorKills: number;
  natsDownMs: number;
  partitionMs: number;
  pgStopMs: number;
  redisStopMs: number;
  overload: { count: number; concurrency: number };
}

export const PROFILES: Record<Profile["name"], Profile> = {
  quick: {
    name: "quick",
    rate: 60,
    leadMs: 1000,
    projectorKills: 3,
    natsDownMs: 2000,
    partitionMs: 5000,
    pgStopMs: 30_000, // the fault: Postgres away for 30 s, in the quick profile too
    redisStopMs: 2000,
    overload: { count: 3000, concurrency: 500 },
  },
  full: {
    name: "full",
    rate: 200,
    leadMs: 5000,
    projectorKills: 10,
    natsDownMs: 10_000,
    partitionMs: 30_000,
    pgStopMs: 30_000,
    redisStopMs: 10_000,
    overload: { count: 30_000, concurrency: 1500 },
  },
};

interface FaultContext {
  topo: Topology;
  load: Load;
  profile: Profile;
  note(text: string): void;
}

export interface Fault {
  name: string;
  /** What is done, for the table's legend. */
  what: string;
  /**
   * Set for a topology where hookline does not promise to come through this fault (a limit of
   * the parts it runs on): the run reports it but does not fail on it. The README says why.
   */
  limitation?: (natsNodes: number) => string | undefined;
  /** Injects the fault and heals it; resolves once healed. */
  run(ctx: FaultContext): Promise<void>;
}

const rssMiB = (pid: number) => {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
};

/** The last warning and error lines of a nats-server log: what it said about a fault. */
const lastWarnings = (file: string, lines = 12) => {
  try {
    const hits = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => /\[(WRN|ERR|FTL)\]/.test(l));
    return hits.slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
};

/** What a node's JetStream liveness probe answers: "ok" or the status and reason. */
async function jetStreamHealth(node: { monitorUrl: string }): Promise<string> {
  try {
    const r = await fetch(`${node.monitorUrl}/healthz?js-enabled-only=true`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? "ok" : `${r.status} ${(await r.text()).slice(0, 120)}`;
  } catch (error) {
    return `no answer (${(error as Error).message})`;
  }
}

export const FAULTS: Fault[] = [
  {
    name: "projector-kill",
    what: "SIGKILL one of 3 projectors, restart it; repeated",
    async run({ topo, profile }) {
      for (let k = 0; k < profile.projectorKills; k++) {
        await Bun.sleep(700);
        await topo.restart("projector", k % topo.projector.length);
      }
    },
  },
  {
    name: "ingress-kill",
    what: "SIGKILL one of 2 ingress processes, restart it after 2 s",
    async run({ topo }) {
      await topo.ingress[0]!.kill("SIGKILL");
      await Bun.sleep(2000);
      await topo.restart("ingress", 0);
    },
  },
  {
    name: "nats-leader-kill",
    what: "SIGKILL the WEBHOOKS leader node, restart it; then another node (the projector consumer's leader if it is another) likewise; 1 node: that node twice",
    async run({ topo, profile, note }) {
      const t0 = Date.now();
      const at = () => `+${((Date.now() - t0) / 1000).toFixed(1)} s`;
      const killed: string[] = [];
      for (let round = 0; round < 2; round++) {
        // The node just restarted may still be catching up: ask until the cluster answers.
        const candidates = await waitFor(
          "the leaders",
          async () => (round === 0 ? [await topo.streamLeader()] : [await topo.consumerLeader(), ...topo.nats.nodes]),
          30_000,
          200,
        );
        const leader = candidates.find((n) => !killed.includes(n.name)) ?? candidates[0]!;
        killed.push(leader.name);
        note(`${at()} killed ${leader.name}`);
        await leader.kill();
        await Bun.sleep(profile.natsDownMs);
        await leader.start();
        // The restarted node catches up before the next one goes.
        await waitFor(
          `${leader.name} healthy`,
          async () => (await fetch(`${leader.monitorUrl}/healthz`)).ok,
          60_000,
          200,
        );
        note(`${at()} ${leader.name} back`);
      }
    },
  },
  {
    name: "nats-partition",
    what: "SIGSTOP the WEBHOOKS leader node (a node cut off) for a while, then SIGCONT",
    async run({ topo, profile, note }) {
      const leader = await topo.streamLeader();
      note(`paused ${leader.name}`);
      leader.pause();
      await Bun.sleep(profile.partitionMs);
      leader.resume();
    },
  },
  {
    name: "postgres-stop",
    what: "Postgres stopped (fast shutdown), started again after the pause",
    async run({ topo, profile }) {
      topo.pg.halt();
      await Bun.sleep(profile.pgStopMs);
      topo.pg.start();
    },
  },
  {
    name: "postgres-kill",
    what: "SIGKILL of the postmaster, restarted after 2 s (crash recovery)",
    async run({ topo }) {
      topo.pg.kill();
      await Bun.sleep(2000);
      topo.pg.start();
    },
  },
  {
    name: "redis-restart",
    what: "Redis stopped, started again (empty) after the pause",
    async run({ topo, profile }) {
      await topo.redis.stop();
      await Bun.sleep(profile.redisStopMs);
      await topo.redis.start();
    },
  },
  {
    name: "stream-full",
    what: "projectors stopped, WEBHOOKS max_msgs lowered to what it holds + 300; restored, projectors back",
    async run({ topo, load, note }) {
      const jsm = await jetstreamManager(topo.nc);
      await Promise.all(topo.projector.map((p) => p.kill("SIGKILL")));
      const before = await jsm.streams.info(STREAM);
      await jsm.streams.update(STREAM, { max_msgs: before.state.messages + 300 });
      const stats = load.windows.get(load.currentWindow)!;
      // Until the ingress has refused for a while: the stream is full.
      const refusedAt = stats.outcomes["503"];
      await waitFor("503 queue_full", () => stats.outcomes["503"] > refusedAt + 20, 60_000, 100);
      await Bun.sleep(1000);
      const full = await jsm.streams.info(STREAM);
      note(`stream held ${full.state.messages} of max ${full.config.max_msgs}`);
      await jsm.streams.update(STREAM, { max_msgs: before.config.max_msgs });
      for (let i = 0; i < topo.projector.length; i++) await topo.restart("projector", i);
    },
  },
  {
    name: "overload",
    what: "a burst far beyond capacity on top of the steady load; ingress RSS before/after",
    async run({ topo, load, profile, note }) {
      const pid = topo.ingress[1]!.proc.pid;
      const before = rssMiB(pid);
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMiB(pid));
      }, 200);
      await load.burst(profile.overload.count, profile.overload.concurrency);
      clearInterval(sampler);
      note(`ingress RSS ${before} MiB before, ${peak} MiB peak`);
    },
  },
  {
    name: "disk-full",
    what: "the filesystem of the WEBHOOKS leader's store filled up for 6 s, then freed (3 nodes: one node's disk; 1 node: the only one)",
    limitation: (nodes) =>
      nodes === 1
        ? "not promised on one node: nats-server 2.12.3 may keep refusing after the disk is freed until restarted, and a restart after a full disk was seen to lose the stream"
        : undefined,
    async run({ topo, load, note }) {
      if (!topo.storeFs) {
        note("skipped: no size-limited filesystem (needs root to mount tmpfs)");
        return;
      }
      const leader = await topo.streamLeader();
      const fs = join(topo.storeFs, `${leader.name}-store`);
      const ballast = join(fs, "ballast");
      const free = () => {
        const s = statfsSync(fs);
        return s.bavail * s.bsize;
      };
      try {
        // Fills every byte left (the store keeps writing meanwhile: the last MiB by dd, to ENOSPC).
        Bun.spawnSync(["fallocate", "-l", String(Math.max(0, free() - 2 ** 20)), ballast]);
        Bun.spawnSync(["dd", "if=/dev/zero", `of=${ballast}-rest`, "bs=64k"], { stdout: "ignore", stderr: "ignore" });
        note(`${leader.name}'s disk full (${free()} bytes left) for 6 s`);
        await Bun.sleep(6000);
      } finally {
        rmSync(ballast, { force: true });
        rmSync(`${ballast}-rest`, { force: true });
      }
      // No restart: freeing the disk is the operator's fix; whether JetStream resumes by itself is
      // what this fault measures (a restart after a full disk was seen to lose the stream).
      const resumed = await waitFor("2xx again", () => load.okStreak >= 20, 10_000, 100).catch(() => false);
      note(`${leader.name} JetStream after: ${await jetStreamHealth(leader)}`);
      if (resumed) return;
      note("still refusing 10 s after the disk was freed");
      for (const n of topo.nats.nodes) console.error(`${n.name}'s log, last warnings:\n${lastWarnings(n.logFile)}`);
      if (topo.nats.nodes.length === 1) return;
      // What Kubernetes does once the liveness probe (/healthz?js-enabled-only=true, as the NATS
      // chart sets it) fails: restart that node. Its replicas are on the other two, so it catches up.
      await leader.stop();
      await leader.start();
      note(`restarted ${leader.name}`);
    },
  },
];
