// The harness's 3-node JetStream cluster (startCluster's natsNodes option, as ./ops/up
// --nats-cluster 3 runs it): the streams get 3 replicas, the services take all three URLs, and
// when the node leading the stream and the projector's consumer dies the ingress and projector
// carry on with the other two.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import { DLQ_STREAM, openSourcesBucket, PROJECTOR_CONSUMER, SOURCES_BUCKET, STREAM } from "../../shared/nats.ts";
import { type Cluster, postWebhook, signGeneric, startCluster, waitFor } from "./harness.ts";

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector"], { ACK_WAIT_SECONDS: "5" }, { natsNodes: 3 });
});

afterAll(async () => {
  await cluster?.stop();
});

/** Posts until acked, as a provider retries a 503 (or a refused connection). */
async function deliver(i: number, timeoutMs = 30_000): Promise<void> {
  const req = signGeneric({ data: { Vorname: `C${i}`, "E-Mail": `cluster${i}@example.org` } }, `msg_cluster_${i}`);
  await waitFor(
    `webhook ${i} acked`,
    async () =>
      (await postWebhook(cluster.services.ingress!.url, "generic", req).catch(() => undefined))?.status === 200,
    timeoutMs,
    200,
  );
}

test("the runtime sources' bucket runs at 3 replicas, and one made with 1 is brought to 3 when provisioned", async () => {
  const nc = await connect({ servers: cluster.nats.url.split(",") });
  const jsm = await jetstreamManager(nc);
  const replicas = async () => (await jsm.streams.info(`KV_${SOURCES_BUCKET}`)).config.num_replicas;
  // The projector provisioned at start, with STREAM_REPLICAS=3.
  expect(await replicas()).toBe(3);
  // As an earlier version (or a pod without STREAM_REPLICAS) left it: nats.js's default, 1.
  await jsm.streams.delete(`KV_${SOURCES_BUCKET}`);
  await (await new Kvm(nc).create(SOURCES_BUCKET, { history: 1 })).put("kept", "1");
  expect(await replicas()).toBe(1);
  const kv = await openSourcesBucket(nc, 3);
  expect(await replicas()).toBe(3);
  expect((await kv.get("kept"))?.string()).toBe("1");
  await nc.close();
}, 60_000);

test("WEBHOOKS and WEBHOOKS_DLQ run at 3 replicas; killing the leading node loses nothing and stalls nothing", async () => {
  const nodes = cluster.natsCluster!.nodes;
  expect(nodes.map((n) => n.name)).toEqual(["n1", "n2", "n3"]);
  expect(cluster.nats.url.split(",")).toHaveLength(3);
  const nc = await connect({ servers: cluster.nats.url.split(",") });
  const jsm = await jetstreamManager(nc);
  for (const name of [STREAM, DLQ_STREAM]) expect((await jsm.streams.info(name)).config.num_replicas).toBe(3);
  const projected = async () => (await cluster.sql`select count(*)::int as n from webhook_events`)[0]!.n as number;

  for (let i = 0; i < 30; i++) await deliver(i);
  await waitFor("the first 30 projected", async () => (await projected()) === 30, 30_000, 100);
  // The node the projector pulls from: the consumer's leader.
  const leaderName = (await jsm.consumers.info(STREAM, PROJECTOR_CONSUMER)).cluster!.leader!;
  const leader = cluster.natsCluster!.node(leaderName);
  await leader.kill();
  for (let i = 30; i < 60; i++) await deliver(i);
  const next = await waitFor("a new consumer leader", async () => {
    const l = (await jsm.consumers.info(STREAM, PROJECTOR_CONSUMER)).cluster?.leader;
    return l && l !== leaderName ? l : undefined;
  });
  expect(next).not.toBe(leaderName);
  await nc.close();
  // The projector must notice its pull went to a dead node and pull again from the new leader:
  // generously bounded (it took 35-40 s when it waited for the default 30 s pull expiry).
  const started = Date.now();
  await waitFor("all 60 projected", async () => (await projected()) === 60, 60_000, 200);
  expect(Date.now() - started).toBeLessThan(20_000);
  await leader.start();

  const [row] = await cluster.sql`select count(distinct event_id)::int as events, count(*)::int as rows,
    (select count(*)::int from patients) as patients from webhook_events`;
  expect(row).toEqual({ events: 60, rows: 60, patients: 60 });
}, 120_000);

test("an ingress connected to a node that stops answering (paused: no FIN, no RST) reconnects to another", async () => {
  const nodes = cluster.natsCluster!.nodes;
  // The node holding the ingress's connection (its monitoring lists the client by name).
  const connected = await waitFor("the ingress's node", async () => {
    for (const n of nodes) {
      const connz = (await (await fetch(`${n.monitorUrl}/connz`)).json()) as { connections?: { name?: string }[] };
      if (connz.connections?.some((c) => c.name === "hookline-ingress")) return n;
    }
    return undefined;
  });
  connected.pause();
  try {
    const started = Date.now();
    await deliver(100, 90_000);
    // Generous: the client must notice the silent server by its pings and reconnect elsewhere
    // (nats.js' default pings every 2 min, two missed: minutes of 503s).
    expect(Date.now() - started).toBeLessThan(30_000);
  } finally {
    connected.resume();
  }
}, 120_000);
