// The lag KEDA reads (issue #9): the chart's ScaledObject scales the projector with KEDA's
// nats-jetstream scaler, which reads the NATS monitoring endpoint, not the JetStream API.
// With a real nats-server, a backlog built through the ingress while the projector is down
// must show up in exactly that request as a lag equal to the backlog, and fall to 0 as the
// projector drains it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { PROJECTOR_CONSUMER, STREAM } from "../../shared/nats.ts";
import { type Cluster, postWebhook, ROOT, signGeneric, startCluster, startService, waitFor } from "./harness.ts";

// The account the chart's ScaledObject renders by default (values.yaml nats.account); its
// stream and consumer are checked against shared/nats.ts by the chart tests.
const ACCOUNT = (
  parseYaml(readFileSync(join(ROOT, "helm/hookline/values.yaml"), "utf8")) as { nats: { account: string } }
).nats.account;

interface JszConsumer {
  name: string;
  num_pending: number;
  num_ack_pending: number;
}
interface Jsz {
  meta_cluster?: { cluster_size?: number };
  account_details?: {
    name: string;
    stream_detail?: { name: string; state: { last_seq: number }; consumer_detail?: JszConsumer[] }[];
  }[];
}

/**
 * What KEDA's nats-jetstream scaler computes, mirroring kedacore/keda
 * pkg/scalers/nats_jetstream_scaler.go (v2.x, commit 0b67b0d):
 * - getNATSJetStreamMonitoringURL: `<scheme>://<natsServerMonitoringEndpoint>/jsz?acc=<account>&consumers=true&config=true`
 *   (the account is inserted unescaped, "$G" for NATS without accounts);
 * - setNATSJetStreamMonitoringData: the account_details entry whose name is the account, its
 *   stream_detail named `stream`, and in it the consumer_detail named `consumer`;
 * - getMaxMsgLag: lag = num_pending + num_ack_pending, or the stream's last_seq when the
 *   consumer is missing.
 * With meta_cluster.cluster_size > 1 the scaler re-asks the consumer's leader node (found via
 * /varz); a single server answers for itself, as here.
 */
async function kedaLag(endpoint: string, account: string, stream: string, consumer: string) {
  const url = `http://${endpoint}/jsz?acc=${account}&consumers=true&config=true`;
  const jsz = (await (await fetch(url)).json()) as Jsz;
  const detail = jsz.account_details?.find((a) => a.name === account)?.stream_detail?.find((s) => s.name === stream);
  if (!detail) throw new Error(`stream ${stream} not found in ${url}`); // KEDA: "stream not found"
  const found = detail.consumer_detail?.find((c) => c.name === consumer);
  return {
    clusterSize: jsz.meta_cluster?.cluster_size ?? 0,
    consumerFound: found !== undefined,
    lag: found ? found.num_pending + found.num_ack_pending : detail.state.last_seq,
  };
}

const N = 300;
const person = (i: number) => ({
  type: "form.submitted",
  data: { "First name": `Keda${i}`, "Last name": "Lag", "E-Mail": `keda.${i}@example.com` },
});

let cluster: Cluster;
let endpoint: string;

beforeAll(async () => {
  // The projector provisions the streams and its consumer, as the chart's hook Job does;
  // then it stops, as KEDA leaves it at zero replicas until a backlog appears.
  cluster = await startCluster(["ingress", "projector"]);
  await cluster.services.projector!.kill();
  delete cluster.services.projector;
  endpoint = new URL(cluster.nats.monitorUrl).host;
});
afterAll(() => cluster?.stop());

describe("the lag KEDA's nats-jetstream scaler reads", () => {
  test("equals the backlog while the projector is stopped, then falls to 0 as it drains", async () => {
    expect(ACCOUNT).toBe("$G");
    const empty = await kedaLag(endpoint, ACCOUNT, STREAM, PROJECTOR_CONSUMER);
    expect(empty).toEqual({ clusterSize: 0, consumerFound: true, lag: 0 });

    const ingress = cluster.services.ingress!;
    for (let start = 0; start < N; start += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, k) =>
          postWebhook(ingress.url, "generic", signGeneric(person(start + k), `msg_keda_${start + k}`)),
        ),
      );
      expect(batch.map((r) => r.status)).toEqual(Array(50).fill(200));
    }

    const backlog = await kedaLag(endpoint, ACCOUNT, STREAM, PROJECTOR_CONSUMER);
    expect(backlog).toEqual({ clusterSize: 0, consumerFound: true, lag: N });

    const began = Date.now();
    cluster.services.projector = await startService("projector", { NATS_URL: cluster.nats.url });
    const seen: number[] = [];
    await waitFor(
      "the lag KEDA reads to fall to 0",
      async () => {
        const { lag } = await kedaLag(endpoint, ACCOUNT, STREAM, PROJECTOR_CONSUMER);
        seen.push(lag);
        return lag === 0;
      },
      15_000,
      25,
    );
    const drainMs = Date.now() - began;
    const [{ n }] = (await cluster.sql`select count(*)::int as n from patients`) as unknown as [{ n: number }];
    expect(n).toBe(N);
    expect(Math.max(...seen)).toBeLessThanOrEqual(N);
    console.log(
      `keda-lag: backlog ${N}, lag read ${backlog.lag}, drained to 0 in ${drainMs} ms (${seen.length} polls)`,
    );
  });
});
