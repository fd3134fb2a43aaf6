// The database drops the projector's connections mid-batch, again and again: every event
// is still projected exactly once and none is dead-lettered, even with MAX_DELIVER=1,
// because a failing database is not a failing event.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { DLQ_STREAM } from "../../shared/nats.ts";
import {
  type Cluster,
  postWebhook,
  type Service,
  signGeneric,
  startCluster,
  startService,
  waitFor,
} from "./harness.ts";

let cluster: Cluster;
let projector: Service | undefined;

beforeAll(async () => {
  cluster = await startCluster(["ingress"]);
});
afterAll(async () => {
  await projector?.kill("SIGKILL");
  await cluster?.stop();
});

const TOTAL = 2000;

test("connections terminated mid-batch: no event lost, duplicated or dead-lettered", async () => {
  for (let start = 0; start < TOTAL; start += 100) {
    const batch = await Promise.all(
      Array.from({ length: 100 }, (_, k) =>
        postWebhook(
          cluster.services.ingress!.url,
          "generic",
          signGeneric({ data: { Email: `o${start + k}@example.org` } }, `msg_outage_db_${start + k}`),
        ),
      ),
    );
    expect(batch.every((r) => r.status === 200)).toBe(true);
  }
  projector = await startService("projector", {
    NATS_URL: cluster.nats.url,
    BATCH_SIZE: "50",
    BATCH_DELAY_MS: "5",
    MAX_DELIVER: "1",
    RETRY_DELAY_MS: "50",
  });

  const count = async () => (await cluster.sql`select count(*)::int as n from webhook_events`)[0]!.n as number;
  // Keep killing the projector's sessions while it drains (bounded: 150 rounds, so the
  // driver's reconnect backoff, which grows with every failure, stays short).
  let terminated = 0;
  for (let round = 0; round < 150 && (await count()) < TOTAL; round++) {
    const rows =
      await cluster.sql`select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = 'hookline-projector' and state = 'active'`;
    terminated += rows.filter((r) => r.ok).length;
    await Bun.sleep(5);
  }
  await waitFor("all projected", async () => (await count()) === TOTAL, 90_000, 100).catch((e) => {
    console.log(projector!.output().slice(-3000));
    throw e;
  });
  expect(terminated).toBeGreaterThan(0);
  expect(projector.output()).toContain("database unavailable; batch will be redelivered");

  const [row] =
    await cluster.sql`select count(distinct event_id)::int as events, (select count(*)::int from patients) as patients from webhook_events`;
  expect(row).toEqual({ events: TOTAL, patients: TOTAL });
  const nc = await connect({ servers: cluster.nats.url });
  try {
    expect((await (await jetstreamManager(nc)).streams.info(DLQ_STREAM)).state.messages).toBe(0);
  } finally {
    await nc.close();
  }
}, 120_000);
