// WEBHOOKS_DLQ has a retention (DLQ_MAX_AGE_DAYS, DLQ_MAX_BYTES) and refuses when full
// rather than discarding older dead letters. Nothing is lost for it: the ingress answers 503
// queue_full for what it would have quarantined, and a message the projector would
// dead-letter stays in WEBHOOKS (nak, retried) until the DLQ has room again.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { DLQ_STREAM, H, STREAM } from "../../shared/nats.ts";
import { NS_PER_DAY } from "../../shared/stream-limits.ts";
import { patientByEmail } from "../keys.ts";
import { type Cluster, postWebhook, signGeneric, startCluster, waitFor } from "./harness.ts";

const DLQ_MAX_BYTES = 2048;
let cluster: Cluster;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector"], {
    DLQ_MAX_BYTES: String(DLQ_MAX_BYTES),
    DLQ_MAX_AGE_DAYS: "7",
    RETRY_DELAY_MS: "100",
  });
  nc = await connect({ servers: cluster.nats.url });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

test("a full DLQ refuses: the ingress answers 503 queue_full, the projector keeps the message in WEBHOOKS until there is room", async () => {
  expect((await jsm.streams.info(DLQ_STREAM)).config).toMatchObject({
    max_age: 7 * NS_PER_DAY,
    max_bytes: DLQ_MAX_BYTES,
    discard: "new",
  });
  const js = jetstream(nc);
  // An earlier dead letter fills the DLQ.
  await js.publish("dlq.ingress.generic", new Uint8Array(DLQ_MAX_BYTES - 200));
  expect(
    await js.publish("dlq.ingress.generic", new Uint8Array(300)).then(
      () => "stored",
      () => "refused",
    ),
  ).toBe("refused");

  const ingress = cluster.services.ingress!;
  const quarantine = await postWebhook(ingress.url, "generic", signGeneric("{not json", "msg_dlq_full_ingress"));
  expect(quarantine.status).toBe(503);
  expect(quarantine.headers.get("retry-after")).toMatch(/^\d+$/);
  expect((await quarantine.json()).error.code).toBe("queue_full");

  // Stored as the ingress would, but the projector cannot parse it: it must be dead-lettered.
  const h = headers();
  h.set(H.source, "generic");
  h.set(H.eventId, "evt_dlq_full_poison");
  h.set(H.receivedAt, String(Date.now()));
  h.set(H.contentType, "application/json");
  await js.publish("webhooks.generic", new TextEncoder().encode('["an","array"]'), {
    headers: h,
    msgID: "evt_dlq_full_poison",
  });
  const good = await postWebhook(
    ingress.url,
    "generic",
    signGeneric({ data: { Email: "dlq-full-good@example.com" } }, "msg_dlq_full_good"),
  );
  expect(good.status).toBe(200);
  await waitFor(
    "good event projected",
    async () => (await patientByEmail(cluster.sql, "dlq-full-good@example.com")) !== undefined,
  );
  await waitFor(
    "dead-lettering refused",
    () => cluster.services.projector!.output().includes("dead-letter publish failed"),
    20_000,
    100,
  );
  // Refused more than once, and still there: the poison is the one message WEBHOOKS holds.
  await waitFor(
    "redelivered after the refusal",
    () => cluster.services.projector!.output().split("dead-letter publish failed").length > 2,
    20_000,
    100,
  );
  const webhooks = await jsm.streams.info(STREAM);
  expect(webhooks.state.messages).toBe(1);
  expect((await jsm.streams.getMessage(STREAM, { seq: webhooks.state.first_seq }))!.header.get(H.eventId)).toBe(
    "evt_dlq_full_poison",
  );
  expect((await jsm.streams.info(DLQ_STREAM)).state.messages).toBe(1);

  // An operator makes room (raises the limit): the poison moves to the DLQ, WEBHOOKS empties.
  await jsm.streams.update(DLQ_STREAM, { max_bytes: 1024 * 1024 });
  await waitFor(
    "poison dead-lettered",
    async () => {
      const last = await jsm.streams
        .getMessage(DLQ_STREAM, { last_by_subj: "dlq.projector.generic" })
        .catch(() => null);
      return last?.header.get(H.eventId) === "evt_dlq_full_poison";
    },
    30_000,
    100,
  );
  await waitFor("WEBHOOKS empty", async () => (await jsm.streams.info(STREAM)).state.messages === 0, 20_000, 100);
}, 90_000);
