// KEDA's own operator (the release ops/tools pins, built from its Go module) scaling the chart's
// projector in a real API server (test/chart/apiserver.ts) on a real nats-server's JetStream
// backlog: the chart installed with keda.enabled and minReplicaCount 0, its ScaledObject read
// by the operator, which polls NATS's /jsz for the lag of consumer "projector" on WEBHOOKS and
// sets the Deployment's replicas through its scale subresource. No kubelet runs, so no
// projector pod ever starts to drain the backlog: the test empties the stream itself.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { PROJECTOR_CONSUMER, provisionJetStream, STREAM, webhookSubject } from "../../shared/nats.ts";
import { freePort, type NatsServer, startNats } from "../integration/harness.ts";
import { type ApiServer, applyKedaCrds, ROOT, sh, startApiServer, tools } from "./apiserver.ts";

const CHART = join(ROOT, "helm/hookline");
const NS = "hookline-keda";
const DEPLOYMENT = "hl-hookline-projector";
const N = 25;
/** KEDA's name for the chart's one trigger: s<index>-<scaler>-<stream>. */
const METRIC = "s0-nats-jetstream-WEBHOOKS";

let k: ApiServer;
let nats: NatsServer;
let nc: NatsConnection;
let operator: Bun.Subprocess;

/** The last lines of the operator's log, for failure messages. */
function operatorLog(): string {
  const file = join(k.dir, "keda.log");
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(-40).join("\n") : "(no log)";
}

/** Polls `check` until true; fails at once if the operator exited, with its log in the error. */
const until = (what: string, check: () => Promise<boolean>, seconds = 120) =>
  k.until(what, check, seconds, {
    died: () => (operator.exitCode === null ? null : `the KEDA operator exited ${operator.exitCode}`),
    log: operatorLog,
  });

// The Deployment's own field: its /scale subresource omits replicas when they are 0.
const replicas = async () =>
  (await k.api("GET", `/apis/apps/v1/namespaces/${NS}/deployments/${DEPLOYMENT}`)).json.spec.replicas as number;

async function condition(type: string): Promise<string | undefined> {
  const so = await k.api("GET", `/apis/keda.sh/v1alpha1/namespaces/${NS}/scaledobjects/${DEPLOYMENT}`);
  return so.json.status?.conditions?.find((c: any) => c.type === type)?.status;
}

async function lag(): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const c = await jsm.consumers.info(STREAM, PROJECTOR_CONSUMER);
  return c.num_pending + c.num_ack_pending;
}

beforeAll(async () => {
  const [keda] = tools("keda") as [string];
  k = await startApiServer();
  await applyKedaCrds(k);

  // The streams and the projector's consumer, as the chart's provision hook Job creates them.
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  await provisionJetStream(nc);

  const install = k.helm([
    "install",
    "hl",
    CHART,
    "-n",
    NS,
    "--create-namespace",
    // Without a kubelet the provision Job never completes (install.test.ts); never --wait.
    "--no-hooks",
    "-f",
    join(CHART, "ci/minimal.yaml"),
    "--set",
    "keda.enabled=true",
    "--set",
    "keda.minReplicaCount=0",
    "--set",
    "keda.pollingInterval=1",
    "--set",
    "keda.cooldownPeriod=2",
    "--set",
    `nats.monitoringEndpoint=${new URL(nats.monitorUrl).host}`,
  ]);
  expect(install.code, install.out).toBe(0);
  // No replicas in the rendered Deployment while autoscaled: the API server's default.
  expect(await replicas()).toBe(1);

  // Its Metrics Service (for KEDA's metrics adapter, absent here) serves gRPC over mTLS from
  // --cert-dir and cannot be turned off; in a cluster KEDA's cert rotation writes these files.
  const certs = join(k.dir, "keda-certs");
  mkdirSync(certs);
  const key = join(certs, "tls.key");
  const cert = join(certs, "tls.crt");
  sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=keda"]);
  copyFileSync(cert, join(certs, "ca.crt"));
  const probe = await freePort();
  operator = k.spawn(
    [
      keda,
      "--leader-elect=false",
      "--enable-cert-rotation=false",
      "--enable-prometheus-metrics=false",
      `--health-probe-bind-address=127.0.0.1:${probe}`,
      `--metrics-service-bind-address=127.0.0.1:${await freePort()}`,
      `--cert-dir=${certs}`,
      `--ca-dir=${join(k.dir, "no-custom-ca")}`,
      "--zap-log-level=info",
    ],
    "keda.log",
    {
      KUBECONFIG: k.kubeconfig,
      WATCH_NAMESPACE: NS,
      // Where KEDA reads Secrets for cluster-scoped objects and would hold its leader lease.
      KEDA_CLUSTER_OBJECT_NAMESPACE: NS,
      POD_NAMESPACE: NS,
    },
  );
  await until("the KEDA operator to be ready", async () => (await fetch(`http://127.0.0.1:${probe}/readyz`)).ok);
}, 900_000);

afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
  await k?.stop();
}, 30_000);

describe("KEDA's operator and the chart's ScaledObject", () => {
  test("no backlog: the projector is scaled to 0, the ScaledObject Ready and not Active", async () => {
    await until("the ScaledObject to be Ready", async () => (await condition("Ready")) === "True");
    await until("the projector to be scaled to 0", async () => (await replicas()) === 0);
    expect(await lag()).toBe(0);
    // Unknown until the first poll of NATS: False says KEDA read the lag and found it 0.
    await until("the ScaledObject to be not Active", async () => (await condition("Active")) === "False");
    const { status } = (await k.api("GET", `/apis/keda.sh/v1alpha1/namespaces/${NS}/scaledobjects/${DEPLOYMENT}`)).json;
    // Read from NATS without error (a failing read would count towards the chart's fallback).
    expect(status.health).toEqual({ [METRIC]: { numberOfFailures: 0, status: "Happy" } });
    expect(status.triggersActivity).toEqual({ [METRIC]: { isActive: false } });
    expect(status.originalReplicaCount).toBe(1);
    expect(await condition("Fallback")).not.toBe("True");
  }, 300_000);

  test("KEDA's HPA targets the projector, within the chart's replica bounds", async () => {
    const hpa = await k.api(
      "GET",
      `/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers/keda-hpa-${DEPLOYMENT}`,
    );
    expect(hpa.status).toBe(200);
    expect(hpa.json.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: DEPLOYMENT });
    expect([hpa.json.spec.minReplicas, hpa.json.spec.maxReplicas]).toEqual([1, 6]);
    // The lag per replica the chart asks for (keda.lagThreshold 5000), as KEDA's metric.
    expect(hpa.json.spec.metrics.map((m: any) => [m.type, m.external.metric.name, m.external.target])).toEqual([
      ["External", METRIC, { type: "AverageValue", averageValue: "5k" }],
    ]);
  });

  test("a JetStream backlog activates it: replicas 0 -> 1; emptied, back to 0", async () => {
    const js = jetstream(nc);
    for (let i = 0; i < N; i++) await js.publish(webhookSubject("generic"), JSON.stringify({ i }));
    expect(await lag()).toBe(N);

    const began = Date.now();
    await until("the projector to be scaled to 1", async () => (await replicas()) === 1);
    const activatedMs = Date.now() - began;
    // KEDA writes the status just after scaling.
    await until("the ScaledObject to be Active", async () => (await condition("Active")) === "True");
    expect(await condition("Ready")).toBe("True");
    expect(await condition("Fallback")).not.toBe("True");

    // As a projector would by acking them all (none runs without a kubelet).
    await (await jetstreamManager(nc)).streams.purge(STREAM);
    expect(await lag()).toBe(0);
    await until("the projector to be scaled back to 0", async () => (await replicas()) === 0);
    await until("the ScaledObject to be not Active", async () => (await condition("Active")) === "False");
    console.log(`keda-operator: ${N} pending -> 1 replica in ${activatedMs} ms; back to 0 after the purge`);
  }, 300_000);
});
