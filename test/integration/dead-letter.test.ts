// What cannot be parsed is kept with its reason in WEBHOOKS_DLQ, never dropped.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Sql } from "../../shared/db/client.ts";
import { DLQ_STREAM, H } from "../../shared/nats.ts";
import { ROOT, freshDatabase, postWebhook, signGeneric, startNats, startService, waitFor, type NatsServer, type Service } from "./harness.ts";

let nats: NatsServer;
let sql: Sql;
let nc: NatsConnection;
let ingress: Service;
let projector: Service;

beforeAll(async () => {
  sql = await freshDatabase();
  nats = await startNats();
  ingress = await startService("ingress", { NATS_URL: nats.url });
  projector = await startService("projector", { NATS_URL: nats.url });
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await Promise.all([ingress, projector].map((s) => s?.kill("SIGKILL")));
  await nats?.dispose();
  await sql?.end();
});

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
  const js = jetstream(nc);
  const { headers } = await import("@nats-io/nats-core");
  const h = headers();
  h.set(H.source, "generic");
  h.set(H.eventId, "evt_poison");
  h.set(H.receivedAt, String(Date.now()));
  h.set(H.contentType, "application/json");
  await js.publish("webhooks.generic", new TextEncoder().encode('["an","array"]'), { headers: h, msgID: "evt_poison" });

  const good = await postWebhook(ingress.url, "generic", signGeneric({ data: { Email: "after-poison@example.com" } }, "msg_after_poison"));
  expect(good.status).toBe(200);

  const dead = await waitFor("projector dead letter", async () => (await dlqMessages()).find((m) => m.subject === "dlq.projector.generic"));
  expect(dead.header.get(H.reasonCode)).toBe("unparseable_body");
  expect(dead.header.get(H.originalSubject)).toBe("webhooks.generic");
  expect(new TextDecoder().decode(dead.data)).toBe('["an","array"]');
  await waitFor("later event projected", async () => (await sql`select 1 from patients where email = 'after-poison@example.com'`).length === 1);
  const [poison] = await sql`select count(*)::int as n from webhook_events where event_id = 'evt_poison'`;
  expect(poison!.n).toBe(0);
});

test("a dead letter can be replayed once its cause is fixed (ops/hookline dlq replay)", async () => {
  const { headers } = await import("@nats-io/nats-core");
  const h = headers();
  h.set(H.source, "clinic-x");
  h.set(H.eventId, "evt_clinic_x_1");
  h.set(H.receivedAt, String(Date.now()));
  h.set(H.contentType, "application/json");
  await jetstream(nc).publish("webhooks.clinic-x", new TextEncoder().encode(JSON.stringify({ data: { Email: "replayed@example.com", Vorname: "Rita" } })), {
    headers: h,
    msgID: "evt_clinic_x_1",
  });
  // The projector does not know source clinic-x yet: dead-lettered with that reason.
  await waitFor("unknown source dead letter", async () => (await dlqMessages()).find((m) => m.header.get(H.reasonCode) === "unknown_source"));

  // Fix: a projector configured with clinic-x.
  const { mkdtempSync, readFileSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { parse } = await import("yaml");
  const dev = parse(readFileSync(join(ROOT, "ops/dev/sources.yaml"), "utf8"));
  dev.sources.push({ ...dev.sources.find((s: { id: string }) => s.id === "generic"), id: "clinic-x" });
  const file = join(mkdtempSync(join(tmpdir(), "hookline-dlq-")), "sources.json");
  writeFileSync(file, JSON.stringify(dev));
  await projector.kill();
  projector = await startService("projector", { NATS_URL: nats.url, HOOKLINE_SOURCES: file });

  const cli = Bun.spawn(["bun", "ops/hookline.ts", "dlq", "replay", "--all", "--code", "unknown_source"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, NATS_URL: nats.url },
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = await new Response(cli.stdout).text();
  expect(await cli.exited).toBe(0);
  expect(out).toContain("1 replayed, 0 failed");

  await waitFor("replayed event projected", async () => (await sql`select first_name from patients where email = 'replayed@example.com'`)[0]?.first_name === "Rita");
  const left = (await dlqMessages()).filter((m) => m.header.get(H.reasonCode) === "unknown_source");
  expect(left).toHaveLength(0);
  // The ingress quarantine from the first test is untouched by a filtered replay.
  expect((await dlqMessages()).some((m) => m.subject === "dlq.ingress.generic")).toBe(true);
});
