// The projector under failures a real database produces: values Postgres cannot store,
// and an event that fails every attempt (dead-lettered after MAX_DELIVER while its
// batch-mates commit).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { PATIENTS } from "../../shared/db/sealed.ts";
import { DLQ_STREAM, H } from "../../shared/nats.ts";
import { openRows, patientByEmail } from "../keys.ts";
import { type Cluster, postWebhook, signGeneric, startCluster, waitFor } from "./harness.ts";

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector"], {
    MAX_DELIVER: "3",
    RETRY_DELAY_MS: "100",
    BATCH_DELAY_MS: "200",
  });
  // Failure injection inside Postgres itself: this one patient (keyed on the first name, which
  // is stored in clear; the email is sealed) can never be written, and the
  // error Postgres raises quotes the row's value (invalid input syntax for type integer: "…").
  await cluster.sql.unsafe(`
    create or replace function hookline_test_poison() returns trigger language plpgsql as $$
    begin if new.first_name = 'Poison' then perform new.first_name::int; end if; return new; end $$;
    drop trigger if exists hookline_test_poison on patients;
    create trigger hookline_test_poison before insert or update on patients for each row execute function hookline_test_poison();`);
});

afterAll(async () => {
  await cluster?.sql.unsafe(
    `drop trigger if exists hookline_test_poison on patients; drop function if exists hookline_test_poison();`,
  );
  await cluster?.stop();
});

test("a NUL character in a value does not make the event unstorable", async () => {
  const ingress = cluster.services.ingress!;
  const res = await postWebhook(
    ingress.url,
    "generic",
    signGeneric({ data: { Email: "nul@example.com", Vorname: "Nu\u0000ll" } }, "msg_nul"),
  );
  expect(res.status).toBe(200);
  await waitFor(
    "NUL event projected",
    async () => (await patientByEmail(cluster.sql, "nul@example.com"))?.first_name === "Null",
  );
});

test("an event that fails every attempt is dead-lettered after MAX_DELIVER; its batch-mates commit", async () => {
  const ingress = cluster.services.ingress!;
  // Posted together so they share a batch (BATCH_DELAY_MS=200).
  const responses = await Promise.all([
    postWebhook(ingress.url, "generic", signGeneric({ data: { Email: "fine1@example.com" } }, "msg_fine1")),
    postWebhook(
      ingress.url,
      "generic",
      signGeneric({ data: { Email: "poison@example.com", "First name": "Poison" } }, "msg_poison"),
    ),
    postWebhook(ingress.url, "generic", signGeneric({ data: { Email: "fine2@example.com" } }, "msg_fine2")),
  ]);
  expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
  await waitFor(
    "batch-mates committed",
    async () => (await openRows(cluster.sql, PATIENTS)).filter((p) => p.email?.startsWith("fine")).length === 2,
  );

  const nc = await connect({ servers: cluster.nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    const dead = await waitFor(
      "poison dead-lettered",
      async () => {
        const info = await jsm.streams.info(DLQ_STREAM);
        if (info.state.messages === 0) return undefined;
        return jsm.streams.getMessage(DLQ_STREAM, { last_by_subj: "dlq.projector.generic" });
      },
      30_000,
    );
    expect(dead!.header.get(H.reasonCode)).toBe("projection_failed");
    // The reason names the failure by its codes; no header quotes the row's values.
    expect(dead!.header.get(H.reason)).toContain("22P02");
    for (const [key, values] of dead!.header)
      expect({ key, values }).toEqual({ key, values: values.filter((v) => !v.includes("poison@example.com")) });
    expect(dead!.header.get(H.deliveries)).toBe("3");
    // The projector terminates the message only after the dead letter is stored and its audit
    // receipt committed (loop.ts, deadLetterAndAck): read just after the letter appears, the
    // consumer could still hold it as pending (a clean-clone run saw 1). Nothing may stay pending.
    await waitFor("the poison message acknowledged", async () => {
      const info = await jsm.consumers.info("WEBHOOKS", "projector");
      return info.num_pending + info.num_ack_pending === 0;
    });
  } finally {
    await nc.close();
  }
  const [row] = await cluster.sql`select count(*)::int as n from webhook_events`;
  expect(row!.n).toBe(3); // NUL event + two fine ones; the poison never half-landed
});
