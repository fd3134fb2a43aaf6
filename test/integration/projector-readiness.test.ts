// Projector readiness means "able to project now" (issue #7 item 8): a poison event that is
// isolated and dead-lettered does not make it unready; a database outage does, until the
// database answers again, even when no traffic comes to prove it. The consume loop runs in
// this process against a real consumer, a real Postgres (reached through a TCP relay this
// test can cut) and webhooks posted to a real ingress.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { trace } from "@opentelemetry/api";
import type { Socket, TCPSocketListener } from "bun";
import { createDeadLetterWriter } from "../../services/projector/dead-letter.ts";
import { type RunningProjector, startProjector } from "../../services/projector/loop.ts";
import { createDb, type Sql } from "../../shared/db/client.ts";
import { createLogger } from "../../shared/logger.ts";
import { DLQ_STREAM, PROJECTOR_CONSUMER, provisionJetStream, STREAM } from "../../shared/nats.ts";
import { loadSources } from "../../shared/sources/index.ts";
import { patientByEmail, TEST_KEYS } from "../keys.ts";
import {
  type Cluster,
  DATABASE_URL,
  freePort,
  postWebhook,
  ROOT,
  signGeneric,
  startCluster,
  waitFor,
} from "./harness.ts";

/** A TCP relay to Postgres: `cut()` drops every connection and refuses new ones, `restore()` accepts again. */
async function startRelay(target: { hostname: string; port: number }) {
  const port = await freePort();
  const open = new Set<Socket<{ peer?: Socket<unknown>; pending: Uint8Array[] }>>();
  let listener: TCPSocketListener<{ peer?: Socket<unknown>; pending: Uint8Array[] }> | null = null;
  const listen = () => {
    listener = Bun.listen<{ peer?: Socket<unknown>; pending: Uint8Array[] }>({
      hostname: "127.0.0.1",
      port,
      socket: {
        async open(client) {
          client.data = { pending: [] };
          open.add(client);
          client.data.peer = await Bun.connect({
            ...target,
            socket: {
              data: (_, chunk) => void client.write(chunk),
              close: () => {
                client.end();
              },
              error: () => {
                client.end();
              },
            },
          });
          for (const chunk of client.data.pending) client.data.peer.write(chunk);
        },
        data(client, chunk) {
          if (client.data.peer) client.data.peer.write(chunk);
          else client.data.pending.push(new Uint8Array(chunk));
        },
        close(client) {
          open.delete(client);
          client.data.peer?.end();
        },
      },
    });
  };
  listen();
  return {
    url: (() => {
      const u = new URL(DATABASE_URL);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    })(),
    cut() {
      listener?.stop(true);
      listener = null;
      for (const s of open) {
        s.data.peer?.end();
        s.end();
      }
      open.clear();
    },
    restore: listen,
    stop() {
      listener?.stop(true);
    },
  };
}

let cluster: Cluster;
let nc: NatsConnection;
let projector: RunningProjector | undefined;
let projectorSql: Sql | undefined;
const target = new URL(DATABASE_URL);

beforeAll(async () => {
  cluster = await startCluster(["ingress"]);
  nc = await connect({ servers: cluster.nats.url });
  await provisionJetStream(nc);
  await cluster.sql.unsafe(`
    create or replace function hookline_test_poison() returns trigger language plpgsql as $$
    begin if new.first_name = 'Poison' then raise exception 'injected failure for the test'; end if; return new; end $$;
    drop trigger if exists hookline_test_poison on patients;
    create trigger hookline_test_poison before insert or update on patients for each row execute function hookline_test_poison();`);
});

afterEach(async () => {
  await projector?.stop();
  await projectorSql?.end({ timeout: 1 });
  projector = projectorSql = undefined;
});

afterAll(async () => {
  await cluster?.sql.unsafe(
    `drop trigger if exists hookline_test_poison on patients; drop function if exists hookline_test_poison();`,
  );
  await nc?.close();
  await cluster?.stop();
});

async function run(databaseUrl: string, retryDelayMs: number): Promise<RunningProjector> {
  projectorSql = createDb(databaseUrl, { name: "hookline-test-projector", max: 2 });
  const js = jetstream(nc);
  projector = await startProjector({
    consumer: await js.consumers.get(STREAM, PROJECTOR_CONSUMER),
    sql: projectorSql,
    keys: TEST_KEYS,
    sources: loadSources(join(ROOT, "ops/dev/sources.yaml")),
    deadLetter: createDeadLetterWriter(js),
    log: createLogger("projector-test", "silent"),
    tracer: trace.getTracer("test"),
    batchSize: 50,
    batchDelayMs: 50,
    concurrency: 1,
    maxDeliver: 2,
    retryDelayMs,
  });
  return projector;
}

// The first name is the email's local part: the injected failure keys on it (stored in clear;
// the email is sealed).
const post = (email: string, id: string) => {
  const local = email.split("@")[0]!;
  const firstName = local.charAt(0).toUpperCase() + local.slice(1);
  return postWebhook(
    cluster.services.ingress!.url,
    "generic",
    signGeneric({ data: { Email: email, "First name": firstName } }, id),
  );
};
const stored = async (email: string) => (await patientByEmail(cluster.sql, email)) !== undefined;

test("a poison event isolated and dead-lettered leaves the projector ready", async () => {
  const p = await run(DATABASE_URL, 50);
  expect(await p.healthy()).toBe(true);
  const responses = await Promise.all([
    post("fine@example.com", "msg_ready_fine"),
    post("poison@example.com", "msg_ready_poison"),
  ]);
  expect(responses.map((r) => r.status)).toEqual([200, 200]);
  await waitFor("batch-mate stored", () => stored("fine@example.com"));
  const jsm = await jetstreamManager(nc);
  await waitFor("poison dead-lettered", async () => (await jsm.streams.info(DLQ_STREAM)).state.messages === 1);
  await waitFor("consumer idle", async () => {
    const info = await jsm.consumers.info(STREAM, PROJECTOR_CONSUMER);
    return info.num_pending + info.num_ack_pending === 0;
  });
  // Nothing else arrives: the projector must not wait for a clean batch to call itself ready.
  expect(await p.healthy()).toBe(true);
});

test("a database outage makes it unready until the database answers again, with no traffic needed", async () => {
  const relay = await startRelay({ hostname: target.hostname, port: Number(target.port || 5432) });
  try {
    // Redelivery after a database failure waits retryDelayMs: long here, so no batch can
    // come along and prove the database is back; only readiness itself can find out.
    const p = await run(relay.url, 60_000);
    expect(await p.healthy()).toBe(true);
    relay.cut();
    expect((await post("outage@example.com", "msg_ready_outage")).status).toBe(200);
    await waitFor("unready during the outage", async () => (await p.healthy()) === false, 15_000);
    expect(await p.healthy()).toBe(false);
    relay.restore();
    await waitFor("ready once the database answers", async () => (await p.healthy()) === true, 10_000, 200);
  } finally {
    relay.stop();
  }
});
