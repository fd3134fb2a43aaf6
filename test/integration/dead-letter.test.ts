// What cannot be parsed is kept with its reason in WEBHOOKS_DLQ, never dropped.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { headers } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { newKeyText, parseKeyring } from "../../shared/crypto/keyring.ts";
import type { Sql } from "../../shared/db/client.ts";
import { DLQ_STREAM, H, openSourcesBucket } from "../../shared/nats.ts";
import { type RuntimeSourceRecord, sealSecrets } from "../../shared/sources/runtime.ts";
import { patientByEmail, TEST_KEYS } from "../keys.ts";
import {
  type Cluster,
  DATABASE_URL,
  devSourcesWith,
  postWebhook,
  ROOT,
  type Service,
  signGeneric,
  startCluster,
  waitFor,
} from "./harness.ts";

let cluster: Cluster;
let sql: Sql;
let nc: NatsConnection;
let ingress: Service;

beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector"]);
  sql = cluster.sql;
  ingress = cluster.services.ingress!;
  nc = await connect({ servers: cluster.nats.url });
});
afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

/** Publishes straight to the stream, as the ingress would have, bypassing its checks. */
async function publishStored(source: string, eventId: string, body: string) {
  const h = headers();
  h.set(H.source, source);
  h.set(H.eventId, eventId);
  h.set(H.receivedAt, String(Date.now()));
  h.set(H.contentType, "application/json");
  await jetstream(nc).publish(`webhooks.${source}`, new TextEncoder().encode(body), { headers: h, msgID: eventId });
}

async function dlqMessages() {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(DLQ_STREAM);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(DLQ_STREAM, { seq });
    if (m) out.push(m);
  }
  return out;
}

test("an authenticated body that is not JSON gets 400 and is kept in the DLQ with the reason", async () => {
  const res = await postWebhook(ingress.url, "generic", signGeneric("{not json", "msg_dlq_ingress"));
  expect(res.status).toBe(400);
  expect((await res.json()).error.code).toBe("unparseable_body");

  const messages = await waitFor("dead letter", async () => {
    const all = await dlqMessages();
    return all.find((m) => m.subject === "dlq.ingress.generic");
  });
  expect(new TextDecoder().decode(messages.data)).toBe("{not json");
  expect(messages.header.get(H.reasonCode)).toBe("unparseable_body");
  expect(messages.header.get(H.reason)).toContain("JSON");
  expect(messages.header.get(H.source)).toBe("generic");
});

test("a stored message the projector cannot parse goes to the DLQ and does not block the stream", async () => {
  await publishStored("generic", "evt_poison", '["an","array"]');

  const good = await postWebhook(
    ingress.url,
    "generic",
    signGeneric({ data: { Email: "after-poison@example.com" } }, "msg_after_poison"),
  );
  expect(good.status).toBe(200);

  const dead = await waitFor("projector dead letter", async () =>
    (await dlqMessages()).find((m) => m.subject === "dlq.projector.generic"),
  );
  expect(dead.header.get(H.reasonCode)).toBe("unparseable_body");
  expect(dead.header.get(H.originalSubject)).toBe("webhooks.generic");
  expect(new TextDecoder().decode(dead.data)).toBe('["an","array"]');
  await waitFor(
    "later event projected",
    async () => (await patientByEmail(sql, "after-poison@example.com")) !== undefined,
  );
  const [poison] = await sql`select count(*)::int as n from webhook_events where event_id = 'evt_poison'`;
  expect(poison!.n).toBe(0);
});

test("a dead letter can be replayed once its cause is fixed (ops/hookline dlq replay)", async () => {
  // The audit trail outlives the test database's other tables: only this test's entries count.
  const [{ since }] = (await sql`select coalesce(max(seq), 0)::text as since from audit_log`) as any;
  await publishStored(
    "clinic-x",
    "evt_clinic_x_1",
    JSON.stringify({ data: { Email: "replayed@example.com", Vorname: "Rita" } }),
  );
  // The projector does not know source clinic-x yet: dead-lettered with that reason.
  await waitFor("unknown source dead letter", async () =>
    (await dlqMessages()).find((m) => m.header.get(H.reasonCode) === "unknown_source"),
  );

  // Fix: a projector configured with clinic-x.
  await cluster.restart("projector", { HOOKLINE_SOURCES: devSourcesWith([{ from: "generic", id: "clinic-x" }]) });

  const cli = Bun.spawn(["bun", "ops/hookline.ts", "dlq", "replay", "--all", "--code", "unknown_source"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, NATS_URL: cluster.nats.url, DATABASE_URL },
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = await new Response(cli.stdout).text();
  expect(await cli.exited).toBe(0);
  expect(out).toContain("1 replayed, 0 failed");

  await waitFor(
    "replayed event projected",
    async () => (await patientByEmail(sql, "replayed@example.com"))?.first_name === "Rita",
  );
  const left = (await dlqMessages()).filter((m) => m.header.get(H.reasonCode) === "unknown_source");
  expect(left).toHaveLength(0);
  // The ingress quarantine from the first test is untouched by a filtered replay.
  expect((await dlqMessages()).some((m) => m.subject === "dlq.ingress.generic")).toBe(true);

  // The audit trail has the receipt (dead-lettered, then projected once replayed) and the replay, by whom.
  const entries = await sql`
    select actor, action, entity_type, entity_id, details from audit_log
    where seq > ${since}::bigint and (entity_id = 'evt_clinic_x_1' or details->>'eventId' = 'evt_clinic_x_1')
    order by seq`;
  // (The replayed event may be projected before the CLI records its replay.)
  expect(entries.map((e) => [e.action, e.details.outcome ?? null]).sort()).toEqual([
    ["dead_letter.replay", null],
    ["webhook.receive", "dead-lettered"],
    ["webhook.receive", "projected"],
  ]);
  expect(entries[0]).toMatchObject({ actor: "projector", details: { source: "clinic-x", code: "unknown_source" } });
  const replay = entries.find((e) => e.action === "dead_letter.replay")!;
  expect(replay).toMatchObject({ entity_type: "dead_letter", details: { source: "clinic-x", code: "unknown_source" } });
  expect(replay.actor).toStartWith("cli:");
});

test("a message for a runtime source the projector cannot open yet is kept and redelivered, not dead-lettered, then projected once it opens", async () => {
  const [client] = await sql`insert into clients (name) values (${`Pending clinic ${Date.now()}`}) returning id`;
  const kv = await openSourcesBucket(nc);
  const record = (keyring: typeof TEST_KEYS.data): RuntimeSourceRecord => ({
    name: "rt-pending",
    type: "generic",
    clientId: String(client!.id),
    enabled: true,
    secrets: sealSecrets(keyring, [
      { value: "whsec_cGVuZGluZy1ydW50aW1lLXNvdXJjZS1zZWNyZXQ=", expiresAt: null },
    ]).toString("base64"),
    updatedAt: new Date().toISOString(),
  });
  // Sealed under a key the projector was not given (as after a key rotation it has not been rolled for).
  await kv.put("rt-pending", JSON.stringify(record(parseKeyring(newKeyText("elsewhere"), "test"))));
  await publishStored(
    "rt-pending",
    "evt_rt_pending_1",
    JSON.stringify({ data: { Email: "pending@example.com", Vorname: "Paula" } }),
  );
  // Several deliveries' worth of time: still neither dead-lettered nor projected.
  await Bun.sleep(3000);
  expect((await dlqMessages()).filter((m) => m.header.get(H.originalSubject) === "webhooks.rt-pending")).toEqual([]);
  expect(await patientByEmail(sql, "pending@example.com")).toBeUndefined();
  // The record as the dashboard writes it, under the projector's key: the kept message is projected.
  await kv.put("rt-pending", JSON.stringify(record(TEST_KEYS.data)));
  await waitFor(
    "the kept message projected",
    async () => (await patientByEmail(sql, "pending@example.com"))?.first_name === "Paula",
    20_000,
  );
  expect((await dlqMessages()).filter((m) => m.header.get(H.originalSubject) === "webhooks.rt-pending")).toEqual([]);
  await kv.delete("rt-pending");
}, 60_000);
