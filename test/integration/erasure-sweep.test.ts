// Erasure's JetStream sweep (shared/erase-streams.ts, issue #10 item 4) against real Postgres,
// Redis and nats-server, the dashboard app in process:
// - a raw event's recorded WEBHOOKS sequence may now hold another message (WEBHOOKS recreated
//   by `hookline stream migrate` starts again at 1): only the event's own message is deleted,
//   never another patient's unprojected webhook, and a sequence past the stream's end is no
//   failure;
// - a patient another was merged into: the merged one's email and phone live on only in its
//   moved raw events, and its dead letters name them; the sweep recognises those too.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Writable } from "node:stream";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { headers } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { createDashboardApp } from "../../services/dashboard/app.ts";
import { projectBatch } from "../../services/projector/project.ts";
import { createRedis } from "../../shared/cache.ts";
import type { Sql } from "../../shared/db/client.ts";
import { lockPatient } from "../../shared/db/patients.ts";
import { readDeadLetters } from "../../shared/dead-letters.ts";
import { erasePatientEverywhere } from "../../shared/erase-streams.ts";
import { createLogger } from "../../shared/logger.ts";
import { createMetrics } from "../../shared/metrics.ts";
import { H, provisionJetStream, STREAM } from "../../shared/nats.ts";
import { loadSources } from "../../shared/sources/index.ts";
import { parsedEvent } from "../decoded-event.ts";
import { patientByEmail, TEST_KEYS } from "../keys.ts";
import { freshDatabase, type NatsServer, publishProjectorDeadLetter, ROOT, startNats } from "./harness.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1";
const log = createLogger("dashboard", "silent", new Writable({ write: (_c, _e, done) => done() }));
const TOKEN = "erasure-merged-admin-token-0123456789";
const sources = loadSources(join(ROOT, "ops/dev/sources.yaml"), { HOOKLINE_ENV: "development" });
const generic = sources.get("generic")!;

let sql: Sql;
let nats: NatsServer;
let nc: NatsConnection;
let redis: ReturnType<typeof createRedis>;
let app: ReturnType<typeof createDashboardApp>;
beforeAll(async () => {
  sql = await freshDatabase();
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  await provisionJetStream(nc);
  redis = createRedis(REDIS_URL, "hookline-test", log);
  app = createDashboardApp({
    sql,
    keys: TEST_KEYS,
    redis,
    sources,
    apiTokens: `${TOKEN}=admin`,
    cacheTtlSeconds: 60,
    log,
    metrics: createMetrics("dashboard"),
    readiness: {},
  });
});
afterAll(async () => {
  await nc?.close();
  nats?.stop();
  redis?.disconnect();
  await sql?.end();
});

const n = String(Date.now()).slice(-6);
const body = (data: Record<string, string>) => JSON.stringify({ type: "form.submitted", data });

let seq = 0;
// Stored under sequences far past the test's own stream's, as events of an earlier WEBHOOKS.
const event = (id: string, submittedAt: string, data: Record<string, string>) =>
  parsedEvent(id, generic, body(data), { submittedAt, streamSeq: 1_000_000 + ++seq });

test("erasure deletes a raw event's message from WEBHOOKS only if it is that event's, never another patient's reusing its sequence", async () => {
  // Another patient's webhook, answered 2xx, waiting for the projector.
  const h = headers();
  h.set(H.eventId, `es-other-${n}`);
  h.set(H.source, "generic");
  const pending = await jetstream(nc).publish("webhooks.generic", body({ "E-Mail": `other.${n}@example.com` }), {
    headers: h,
  });
  // A patient whose event was stored before WEBHOOKS was recreated, under the sequence that message has now.
  const email = `reused.${n}@example.com`;
  const stored = event(`es-old-${n}`, "2026-03-01T00:00:00Z", { "First name": "Old", "E-Mail": email });
  stored.streamSeq = pending.seq;
  // And one whose sequence lies beyond the stream's end.
  const beyond = event(`es-beyond-${n}`, "2026-03-02T00:00:00Z", { "First name": "Old", "E-Mail": email });
  beyond.streamSeq = pending.seq + 1000;
  await projectBatch(sql, TEST_KEYS, [stored, beyond]);
  const p = (await patientByEmail(sql, email))!;
  const patient = (await sql.begin((tx) => lockPatient(tx, TEST_KEYS, String(p.id))))!;
  const erased = await erasePatientEverywhere(
    sql,
    patient,
    { actor: "test" },
    { connection: async () => nc, sources, dropCache: async () => {}, keys: TEST_KEYS },
  );
  expect(erased?.streams).toEqual({ swept: true, webhooks: 0, deadLetters: 0 });
  const still = await (await jetstreamManager(nc)).streams.getMessage(STREAM, { seq: pending.seq });
  expect(still?.header.get(H.eventId)).toBe(`es-other-${n}`);
});

test("erasing a patient another was merged into also sweeps the dead letters naming the merged one's email and phone", async () => {
  const into = { email: `into.${n}@example.com`, phone: `+49151${n}1` };
  const from = { email: `from.${n}@example.com`, phone: `+49151${n}2` };
  const name = { "First name": "Ada", "Last name": `Merged${n}` };
  await projectBatch(sql, TEST_KEYS, [
    event(`em-into-${n}`, "2026-03-02T00:00:00Z", { ...name, "E-Mail": into.email, Telefon: into.phone }),
    event(`em-from-${n}`, "2026-03-01T00:00:00Z", { ...name, "E-Mail": from.email, Telefon: from.phone }),
  ]);
  const a = (await patientByEmail(sql, into.email))!;
  const b = (await patientByEmail(sql, from.email))!;
  const merged = await app.handle(
    new Request(`http://dashboard.test/api/v1/patients/${a.id}/merge`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ from: String(b.id) }),
    }),
  );
  expect(merged.status).toBe(200);

  // The merged-away patient's later submissions failed to project: dead letters naming its email, its phone.
  await publishProjectorDeadLetter(nc, {
    source: "generic",
    eventId: `em-dl-email-${n}`,
    body: body({ ...name, "E-Mail": from.email }),
    reason: "test",
  });
  await publishProjectorDeadLetter(nc, {
    source: "generic",
    eventId: `em-dl-phone-${n}`,
    body: body({ ...name, Telefon: from.phone }),
    reason: "test",
  });

  const patient = (await sql.begin((tx) => lockPatient(tx, TEST_KEYS, String(a.id))))!;
  const erased = await erasePatientEverywhere(
    sql,
    patient,
    { actor: "test" },
    { connection: async () => nc, sources, dropCache: async () => {}, keys: TEST_KEYS },
  );
  expect(erased?.rows.webhookEvents).toBe(2);
  expect(erased?.streams).toMatchObject({ swept: true });

  const left: string[] = [];
  for await (const { msg } of readDeadLetters(nc)) left.push(new TextDecoder().decode(msg.data));
  expect(left.filter((t) => t.includes(from.email) || t.includes(from.phone))).toEqual([]);
});
