// SIGKILL the projector mid-stream and restart it: every event is still stored exactly
// once, because writes are idempotent on the event id and acks follow commits.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Sql } from "../../shared/db/client.ts";
import {
  freshDatabase,
  type NatsServer,
  postWebhook,
  type Service,
  signGeneric,
  startNats,
  startService,
  waitFor,
} from "./harness.ts";

let nats: NatsServer;
let sql: Sql;
let ingress: Service;
const extra: Service[] = [];

beforeAll(async () => {
  sql = await freshDatabase();
  nats = await startNats();
  ingress = await startService("ingress", { NATS_URL: nats.url });
});

afterAll(async () => {
  await Promise.all([ingress, ...extra].map((s) => s?.kill("SIGKILL")));
  await nats?.dispose();
  await sql?.end();
});

const TOTAL = 3000;
const EMAILS = 1000; // each person submits three times

test("a projector killed with SIGKILL mid-stream and restarted projects every event exactly once", async () => {
  // Backlog first, projector not running yet.
  for (let start = 0; start < TOTAL; start += 100) {
    const batch = await Promise.all(
      Array.from({ length: 100 }, (_, k) => {
        const i = start + k;
        return postWebhook(
          ingress.url,
          "generic",
          signGeneric({ data: { Vorname: `P${i}`, "E-Mail": `p${i % EMAILS}@example.org` } }, `msg_crash_${i}`),
        );
      }),
    );
    expect(batch.every((r) => r.status === 200)).toBe(true);
  }

  const count = async () => (await sql`select count(*)::int as n from webhook_events`)[0]!.n as number;
  // Small batches with a pause between them so the kill lands between commits.
  // A short ack_wait so the killed projector's unacked messages come back within seconds.
  const first = await startService("projector", {
    NATS_URL: nats.url,
    BATCH_SIZE: "50",
    BATCH_DELAY_MS: "5",
    ACK_WAIT_SECONDS: "3",
  });
  extra.push(first);
  const before = await waitFor(
    "some events projected",
    async () => {
      const n = await count();
      return n >= 200 ? n : undefined;
    },
    30_000,
    5,
  );
  await first.kill("SIGKILL");
  const atKill = await count();
  expect(atKill).toBeLessThan(TOTAL); // it really died mid-stream
  expect(atKill).toBeGreaterThanOrEqual(before);

  const second = await startService("projector", { NATS_URL: nats.url, BATCH_SIZE: "500", ACK_WAIT_SECONDS: "3" });
  extra.push(second);
  await waitFor("backlog drained", async () => (await count()) === TOTAL, 60_000, 100);
  // Let any redelivery of the killed projector's unacked batch arrive and be ignored.
  await waitFor(
    "consumer fully acked",
    async () => {
      const info = await fetch(`${nats.monitorUrl}/jsz?consumers=true`).then((r) => r.json());
      const consumer = info.account_details?.[0]?.stream_detail?.find((s: { name: string }) => s.name === "WEBHOOKS")
        ?.consumer_detail?.[0];
      return consumer && consumer.num_pending === 0 && consumer.num_ack_pending === 0;
    },
    60_000,
    100,
  );

  const [row] = await sql`select (select count(*)::int from webhook_events) as events,
    (select count(distinct event_id)::int from webhook_events) as distinct_events,
    (select count(*)::int from patients) as patients,
    (select sum(events_count)::int from patients) as submissions`;
  expect(row).toEqual({ events: TOTAL, distinct_events: TOTAL, patients: EMAILS, submissions: TOTAL });
}, 120_000);
