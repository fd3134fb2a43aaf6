// The services as a real Prometheus (Debian's) sees them: ops/prometheus/prometheus.yml with
// the test's ports and a 1 s interval scrapes all three, loads hookline's rules and evaluates
// them without error, and the lag it records equals a backlog built with the projector stopped.
// (promtool check metrics on each /metrics output: test/integration/metrics.test.ts.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Cluster, postWebhook, signGeneric, startCluster, waitFor } from "./harness.ts";
import { type Prometheus, startPrometheus } from "./observability.ts";

let cluster: Cluster;
let prometheus: Prometheus;
const JOBS = ["hookline-dashboard", "hookline-ingress", "hookline-projector"];

beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector", "dashboard"]);
  const hostOf = (name: "ingress" | "projector" | "dashboard") => new URL(cluster.services[name]!.url).host;
  prometheus = await startPrometheus({
    "hookline-ingress": hostOf("ingress"),
    "hookline-projector": hostOf("projector"),
    "hookline-dashboard": hostOf("dashboard"),
  });
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  await cluster?.stop();
});

test("Prometheus scrapes all three services", async () => {
  const up = await waitFor(
    "three targets up",
    async () => {
      const result = await prometheus.query("up == 1");
      return result.length === 3 ? result : undefined;
    },
    30_000,
    250,
  );
  expect(up.map((r) => r.metric.job).sort()).toEqual(JOBS);
  // Each service's own metrics arrive under its job.
  const build = await waitFor("build info of every job", async () => {
    const r = await prometheus.query("hookline_build_info");
    return r.length === 3 ? r : undefined;
  });
  expect(build.map((r) => r.metric.job).sort()).toEqual(JOBS);
});

test("hookline's rules are loaded and evaluate without error", async () => {
  const groups = await waitFor(
    "rules evaluated",
    async () => {
      const body = await (await fetch(`${prometheus.url}/api/v1/rules`)).json();
      const gs = body.data.groups as { name: string; rules: { name: string; health: string; lastError?: string }[] }[];
      return gs.length > 0 && gs.every((g) => g.rules.every((r) => r.health !== "unknown")) ? gs : undefined;
    },
    30_000,
    250,
  );
  expect(groups.map((g) => g.name).sort()).toEqual(["hookline.alerts", "hookline.recording"]);
  const alerts = groups
    .find((g) => g.name === "hookline.alerts")!
    .rules.map((r) => r.name)
    .sort();
  expect(alerts).toEqual([
    "HooklineAckLatencyHigh",
    "HooklineConsumerLagGrowing",
    "HooklineDeadLettersAppearing",
    "HooklineHigh5xxRate",
    "HooklineServiceDown",
    "HooklineSourceSilent",
  ]);
  for (const rule of groups.flatMap((g) => g.rules))
    expect({ rule: rule.name, health: rule.health, error: rule.lastError ?? "" }).toEqual({
      rule: rule.name,
      health: "ok",
      error: "",
    });
});

test("the lag Prometheus records is the backlog built while the projector was stopped, then 0", async () => {
  const N = 25;
  const lag = async () =>
    (await prometheus.query('stream_consumer:hookline_consumer_lag_messages:max{consumer="projector"}'))[0]?.value[1];
  await waitFor("lag 0 before the backlog", async () => (await lag()) === "0", 30_000, 250);

  await cluster.services.projector!.kill();
  const answers = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      postWebhook(
        cluster.services.ingress!.url,
        "generic",
        signGeneric({ data: { Email: `backlog.${i}@example.com` } }, `msg_prom_${i}`),
      ),
    ),
  );
  expect(answers.map((r) => r.status)).toEqual(Array(N).fill(200));
  // The ingress reads the consumer's state every 5 s; Prometheus scrapes and records every 1 s.
  await waitFor(`lag ${N} in Prometheus`, async () => (await lag()) === String(N), 30_000, 250);
  const raw = await prometheus.query('hookline_consumer_lag_messages{consumer="projector"}');
  expect(raw.map((r) => [r.metric.job, r.value[1]])).toEqual([["hookline-ingress", String(N)]]);

  await cluster.restart("projector");
  await waitFor("lag back to 0 once the projector drained it", async () => (await lag()) === "0", 30_000, 250);
});
