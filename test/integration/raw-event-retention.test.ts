// Issue #7 item 9: monthly partitions are created outside batches (a batch meeting a month
// without one still stores its event), and raw events past RAW_EVENT_RETENTION_MONTHS are
// dropped together with their duplicate-guard rows, one pod at a time.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ERASURE_TOMBSTONE_DAYS, MAINTENANCE_LOCK, runMaintenance } from "../../services/projector/maintenance.ts";
import { projectBatch } from "../../services/projector/project.ts";
import type { Sql } from "../../shared/db/client.ts";
import { decodedEvent } from "../decoded-event.ts";
import { patientByEmail, TEST_KEYS } from "../keys.ts";
import { freshDatabase, type NatsServer, type Service, startNats, startService, waitFor } from "./harness.ts";

let sql: Sql;
beforeAll(async () => {
  sql = await freshDatabase();
});
afterAll(async () => {
  await sql?.unsafe(
    `drop trigger if exists hookline_test_slow on patients; drop function if exists hookline_test_slow();`,
  );
  await sql?.end();
});

const now = new Date();
/** The 15th of the month `offset` months from now (UTC), and that month's partition name. */
const month = (offset: number) => {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 15));
  return { at: d, partition: `webhook_events_${d.toISOString().slice(0, 7).replace("-", "_")}` };
};
const exists = async (name: string) => (await sql`select to_regclass(${name}) is not null as ok`)[0]!.ok as boolean;

// The first name (stored in clear; the email is sealed) is what the slow trigger keys on.
const event = (id: string, receivedAt: Date, email: string) =>
  decodedEvent(id, { email, firstName: email.split("@")[0] }, { receivedAt, formId: null });

test("a batch meeting a month without a partition stores its event, and never locks webhook_events while it runs", async () => {
  const old = month(-30);
  await sql.unsafe(`drop table if exists ${old.partition}`);
  // A slow batch: while it runs, others must still read (and write) webhook_events.
  await sql.unsafe(`
    create or replace function hookline_test_slow() returns trigger language plpgsql as $$
    begin if new.first_name = 'slow' then perform pg_sleep(1.5); end if; return new; end $$;
    drop trigger if exists hookline_test_slow on patients;
    create trigger hookline_test_slow before insert on patients for each row execute function hookline_test_slow();`);
  const batch = projectBatch(sql, TEST_KEYS, [event("old-month", old.at, "slow@example.com")]);
  await waitFor(
    "batch sleeping",
    async () =>
      (await sql`select 1 from pg_stat_activity where wait_event = 'PgSleep' and query not like '%pg_stat_activity%'`)
        .length > 0,
  );
  const [{ n }] = (await sql.begin(async (tx) => {
    await tx`set local lock_timeout = '500ms'`;
    return tx`select count(*)::int as n from webhook_events`;
  })) as unknown as [{ n: number }];
  expect(n).toBeGreaterThanOrEqual(0);
  expect(await batch).toMatchObject({ inserted: 1 });
  expect(await exists(old.partition)).toBe(true);
  const [row] = await sql`select received_at from webhook_events where event_id = 'old-month'`;
  expect(row!.received_at.toISOString()).toBe(old.at.toISOString());
}, 20_000);

test("maintenance keeps the coming months ready and drops raw events past retention with their guard rows, one pod at a time", async () => {
  // Months -14 and -13 lie wholly before the cut-off of a 12-month retention; -12 does not.
  const months = [-14, -13, -12, -1].map(month);
  for (const m of months) await sql.unsafe(`drop table if exists ${m.partition}`);
  await sql.unsafe(`drop table if exists ${month(2).partition}`);
  const r = await projectBatch(
    sql,
    TEST_KEYS,
    months.map((m, i) => event(`ret${i}`, m.at, `ret${i}@example.com`)),
  );
  expect(r.inserted).toBe(4);
  const guard = async () =>
    (await sql`select event_id from webhook_event_ids where event_id like 'ret%' order by event_id`).map(
      (x) => x.event_id,
    );

  // Erasure tombstones (migration 022) go after ERASURE_TOMBSTONE_DAYS, whatever the retention.
  const tombstone = (tag: string, days: number) =>
    sql`insert into patient_erasures (client_key, email_bidx, erased_at)
      values (0, ${Buffer.from(tag)}, now() - make_interval(days => ${days}))`;
  await tombstone("expired", ERASURE_TOMBSTONE_DAYS + 1);
  await tombstone("kept", ERASURE_TOMBSTONE_DAYS - 1);
  // 0 keeps everything, and still creates the partitions ahead.
  expect(await runMaintenance(sql, { retentionMonths: 0 })).toEqual({
    skipped: false,
    droppedPartitions: [],
    deletedGuardRows: 0,
    deletedTombstones: 1,
  });
  expect(
    (
      await sql`select convert_from(email_bidx, 'UTF8') as tag from patient_erasures where email_bidx in (${Buffer.from("expired")}, ${Buffer.from("kept")})`
    ).map((r) => r.tag),
  ).toEqual(["kept"]);
  expect(await exists(month(2).partition)).toBe(true);

  // Another pod holds the lock: this one skips the round.
  const other = await sql.reserve();
  try {
    await other`select pg_advisory_lock(${MAINTENANCE_LOCK.toString()}::bigint)`;
    expect(await runMaintenance(sql, { retentionMonths: 12 })).toMatchObject({ skipped: true, droppedPartitions: [] });
    await other`select pg_advisory_unlock(${MAINTENANCE_LOCK.toString()}::bigint)`;
  } finally {
    other.release();
  }
  expect(await guard()).toEqual(["ret0", "ret1", "ret2", "ret3"]);

  const pruned = await runMaintenance(sql, { retentionMonths: 12 });
  expect(pruned.skipped).toBe(false);
  // (Older months' partitions made by other tests go too.)
  expect(pruned.droppedPartitions).toEqual(expect.arrayContaining([months[0]!.partition, months[1]!.partition]));
  expect(pruned.droppedPartitions).not.toContain(months[2]!.partition);
  expect(pruned.deletedGuardRows).toBeGreaterThanOrEqual(2);
  expect(await guard()).toEqual(["ret2", "ret3"]);
  expect(await Promise.all(months.map((m) => exists(m.partition)))).toEqual([false, false, true, true]);

  // The documented consequence: an event older than the retention that is replayed is projected again.
  expect(await projectBatch(sql, TEST_KEYS, [event("ret0", months[0]!.at, "ret0@example.com")])).toMatchObject({
    inserted: 1,
  });
  expect((await patientByEmail(sql, "ret0@example.com"))!.events_count).toBe(2);
});

test("the projector creates the coming months' partitions when it starts", async () => {
  const ahead = month(2);
  await sql.unsafe(`drop table if exists ${ahead.partition}`);
  let nats: NatsServer | undefined;
  let projector: Service | undefined;
  try {
    nats = await startNats();
    projector = await startService("projector", { NATS_URL: nats.url });
    await waitFor("partition two months ahead", () => exists(ahead.partition), 10_000);
  } finally {
    await projector?.kill("SIGKILL");
    await nats?.dispose();
  }
}, 30_000);
