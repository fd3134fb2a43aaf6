// ops/chaos: the chaos suite (test/chaos). Each fault is injected under a steady signed load,
// healed, and then every acknowledged webhook is looked for in Postgres and through the API.
//   ops/chaos quick                 every fault once, short load, on one NATS node and on three
//   ops/chaos full                  longer faults and more load, on one node and on three
//   ops/chaos soak --minutes N      steady load on three nodes; RSS, lag, latency every minute
//   options: --nodes 1|3 (one topology only), --fault NAME[,NAME] (those faults only)
// Exits non-zero when anything acknowledged was lost or stored twice, a fault did not recover,
// or a sender waited past its timeout.
import { parseArgs } from "node:util";
import { FAULTS, PROFILES } from "../test/chaos/faults.ts";
import { formatRun, verdict } from "../test/chaos/report.ts";
import { runProfile } from "../test/chaos/run.ts";
import { runSoak } from "../test/chaos/soak.ts";
import { closeAll } from "../test/chaos/topology.ts";

const { values, positionals } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    minutes: { type: "string", default: "10" },
    nodes: { type: "string" },
    fault: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  allowPositionals: true,
});
const mode = positionals[0];
// Interrupted (Ctrl-C, ./ops/test stopped): stop every process the run started, unmount its disk.
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    console.error(`chaos: ${signal}, stopping what the run started`);
    void closeAll().finally(() => process.exit(130));
  });
if (values.help || !mode || !["quick", "full", "soak"].includes(mode)) {
  console.log("usage: ops/chaos quick|full [--nodes 1|3] [--fault NAME,...] | ops/chaos soak --minutes N");
  console.log(`faults: ${FAULTS.map((f) => f.name).join(", ")}`);
  process.exit(values.help ? 0 : 2);
}

if (mode === "soak") {
  const ok = await runSoak(Number(values.minutes));
  process.exit(ok ? 0 : 1);
}

const profile = PROFILES[mode as "quick" | "full"];
const wanted = values.fault?.split(",");
const unknown = wanted?.filter((w) => !FAULTS.some((f) => f.name === w)) ?? [];
if (unknown.length) {
  console.error(`unknown fault ${unknown.join(", ")}; faults: ${FAULTS.map((f) => f.name).join(", ")}`);
  process.exit(2);
}
const faults = wanted ? FAULTS.filter((f) => wanted.includes(f.name)) : FAULTS;
const topologies = values.nodes ? [Number(values.nodes) as 1 | 3] : ([1, 3] as const);
const started = Date.now();
let failed = false;
for (const nodes of topologies) {
  const run = await runProfile(profile, nodes, faults);
  console.log(formatRun(run, profile.name));
  const problems = verdict(run);
  for (const p of problems) console.log(`  FAIL ${p}`);
  failed ||= problems.length > 0;
}
console.log(`chaos ${profile.name}: ${failed ? "FAILED" : "passed"} in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(failed ? 1 : 0);
