// Provisioning (ops/provision.ts, as ./ops/up and every service start run it) against a real
// nats-server: WEBHOOKS is a work queue that refuses when full and never ages messages out;
// limits come from STREAM_*/DLQ_* and an operator's own value survives a restart that does
// not set the variable; a stream made by an earlier version is not silently kept or dropped.
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  AckPolicy,
  DiscardPolicy,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { DLQ_STREAM, PROJECTOR_CONSUMER, STREAM } from "../../shared/nats.ts";
import { DATABASE_URL, type NatsServer, runCommand, startNats } from "./harness.ts";

const GiB = 1024 ** 3;
const DAY_NS = 86_400 * 1e9;
let nats: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

async function run(script: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await runCommand(["bun", ...script], {
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME ?? "/root",
      NATS_URL: nats.url,
      DATABASE_URL,
      LOG_LEVEL: "info",
      ...env,
    },
  });
  return { code, output: stdout + stderr };
}

async function provision(env: Record<string, string> = {}): Promise<void> {
  const r = await run(["ops/provision.ts"], env);
  if (r.code !== 0) throw new Error(`provision exited ${r.code}: ${r.output}`);
}

test("a new WEBHOOKS is a work queue that refuses when full and never ages out; the DLQ has a retention", async () => {
  await provision();
  const w = (await jsm.streams.info(STREAM)).config;
  expect(w).toMatchObject({
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.New,
    max_age: 0,
    max_bytes: GiB,
    max_msgs: -1,
    storage: StorageType.File,
  });
  expect(w.duplicate_window).toBe(600 * 1e9);
  const d = (await jsm.streams.info(DLQ_STREAM)).config;
  expect(d).toMatchObject({
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_age: 30 * DAY_NS,
    max_bytes: GiB,
  });
  expect((await jsm.consumers.info(STREAM, PROJECTOR_CONSUMER)).config.max_deliver).toBe(-1);
});

test("an operator's limit survives a restart without the variable; a configured one is applied", async () => {
  // Raised by hand (nats stream edit / the JetStream API).
  await jsm.streams.update(STREAM, { max_bytes: 2 * GiB, max_msgs: 5_000_000 });
  await jsm.streams.update(DLQ_STREAM, { max_age: nanos(90 * 86_400_000) });
  await provision();
  expect((await jsm.streams.info(STREAM)).config).toMatchObject({ max_bytes: 2 * GiB, max_msgs: 5_000_000 });
  expect((await jsm.streams.info(DLQ_STREAM)).config.max_age).toBe(90 * DAY_NS);

  await provision({
    STREAM_MAX_BYTES: String(3 * GiB),
    STREAM_MAX_MSGS: "1000000",
    DLQ_MAX_AGE_DAYS: "14",
    DLQ_MAX_BYTES: String(GiB / 4),
  });
  expect((await jsm.streams.info(STREAM)).config).toMatchObject({ max_bytes: 3 * GiB, max_msgs: 1_000_000 });
  expect((await jsm.streams.info(DLQ_STREAM)).config).toMatchObject({ max_age: 14 * DAY_NS, max_bytes: GiB / 4 });

  // Dropping the variables later does not put the defaults back over those values.
  await provision();
  expect((await jsm.streams.info(STREAM)).config).toMatchObject({ max_bytes: 3 * GiB, max_msgs: 1_000_000 });
  expect((await jsm.streams.info(DLQ_STREAM)).config).toMatchObject({ max_age: 14 * DAY_NS, max_bytes: GiB / 4 });
});

test("settings that would drop unprojected webhooks are put back", async () => {
  await jsm.streams.update(STREAM, { discard: DiscardPolicy.Old, max_age: nanos(3600_000) });
  await provision();
  expect((await jsm.streams.info(STREAM)).config).toMatchObject({
    discard: DiscardPolicy.New,
    max_age: 0,
    max_bytes: 3 * GiB,
  });
});

test("a bad limit stops provisioning with the variable named", async () => {
  const r = await run(["ops/provision.ts"], { STREAM_MAX_BYTES: "lots", DLQ_MAX_AGE_DAYS: "-1" });
  expect(r.code).not.toBe(0);
  expect(r.output).toContain("STREAM_MAX_BYTES");
  expect(r.output).toContain("DLQ_MAX_AGE_DAYS");
});

test("a WEBHOOKS made by an earlier version (limits retention) is refused with the migration, then migrated without losing a message", async () => {
  // As earlier versions provisioned it: limits retention, oldest discarded, 7 days; a DLQ
  // with no limit at all.
  await jsm.streams.delete(STREAM);
  await jsm.streams.delete(DLQ_STREAM);
  await jsm.streams.add({
    name: STREAM,
    subjects: ["webhooks.>"],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(7 * 86_400_000),
    max_bytes: GiB,
    duplicate_window: nanos(600_000),
  });
  await jsm.streams.add({
    name: DLQ_STREAM,
    subjects: ["dlq.>"],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_age: 0,
  });
  const js = jetstream(nc);
  await js.publish("webhooks.generic", "projected", { msgID: "old-1" });
  await js.publish("webhooks.generic", "not yet projected", { msgID: "old-2" });

  const refused = await run(["ops/provision.ts"]);
  expect(refused.code).not.toBe(0);
  expect(refused.output).toContain("stream_migration_required");
  expect(refused.output).toContain("hookline stream migrate");
  // Left exactly as it was.
  expect((await jsm.streams.info(STREAM)).config.retention).toBe(RetentionPolicy.Limits);
  expect((await jsm.streams.info(STREAM)).state.messages).toBe(2);

  // The migration keeps every message the projector has not acknowledged: it waits for it.
  await jsm.consumers.add(STREAM, {
    durable_name: PROJECTOR_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    filter_subject: "webhooks.>",
  });
  const consumer = await js.consumers.get(STREAM, PROJECTOR_CONSUMER);
  const first = await consumer.next({ expires: 2000 });
  first!.ack();
  const migrating = run(["ops/hookline.ts", "stream", "migrate", "--timeout", "30"]);
  await Bun.sleep(1500);
  // Sealed while it waits: a publish now is refused (the ingress answers 503), not lost later.
  expect(
    await js.publish("webhooks.generic", "during", { msgID: "during-1" }).then(
      () => "stored",
      () => "refused",
    ),
  ).toBe("refused");
  const second = await consumer.next({ expires: 2000 });
  expect(new TextDecoder().decode(second!.data)).toBe("not yet projected");
  second!.ack();
  const result = await migrating;
  expect(result.code).toBe(0);

  const w = await jsm.streams.info(STREAM);
  expect(w.config).toMatchObject({ retention: RetentionPolicy.Workqueue, discard: DiscardPolicy.New, max_age: 0 });
  await provision();
  // An earlier version's unlimited DLQ gets hookline's retention.
  expect((await jsm.streams.info(DLQ_STREAM)).config).toMatchObject({ max_age: 30 * DAY_NS, max_bytes: GiB });
  expect((await jsm.consumers.info(STREAM, PROJECTOR_CONSUMER)).config.max_deliver).toBe(-1);
}, 90_000);
