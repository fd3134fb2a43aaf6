// A webhook of a patient answered before its erasure and projected after it (waiting in
// WEBHOOKS, or in a batch while the erasure committed) must not create the patient again
// (migration 022, services/projector/erased.ts). projectBatch and erasePatient against real
// Postgres, as the projector and `hookline patients erase` call them.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { projectBatch } from "../../services/projector/project.ts";
import type { Sql } from "../../shared/db/client.ts";
import { erasePatient } from "../../shared/db/erase.ts";
import type { PatientState } from "../../shared/db/patient-merge.ts";
import { insertPatients } from "../../shared/db/patients.ts";
import type { PatientRecord } from "../../shared/sources/index.ts";
import { decodedEvent } from "../decoded-event.ts";
import { patientByEmail, TEST_KEYS } from "../keys.ts";
import { freshDatabase, waitForLockWait } from "./harness.ts";

let sql: Sql;
beforeAll(async () => {
  sql = await freshDatabase();
});
afterAll(() => sql?.end());

const event = (id: string, patient: PatientRecord) => decodedEvent(id, patient);

const receipt = async (eventId: string) =>
  (
    await sql<{ outcome: string }[]>`
      select details->>'outcome' as outcome from audit_log
      where action = 'webhook.receive' and entity_id = ${eventId} order by seq desc limit 1`
  )[0]?.outcome;
const rawEvents = async (ids: string[]) =>
  Number((await sql`select count(*) from webhook_events where event_id = any(${ids})`)[0]!.count);

test("a webhook received before its patient's erasure and projected after it creates nothing; one received after does", async () => {
  const email = "gone@example.com";
  await projectBatch(sql, TEST_KEYS, [event("ep-1", { email, firstName: "Greta", phone: "+4930111" })]);
  const patient = await patientByEmail(sql, email);
  expect(patient).toBeDefined();
  // Answered 200 now, still waiting to be projected when the erasure runs.
  const pending = event("ep-2", { email, firstName: "Greta", city: "Berlin" });
  await Bun.sleep(5);
  expect(await erasePatient(sql, TEST_KEYS, String(patient!.id), { actor: "test" })).not.toBeNull();

  const result = await projectBatch(sql, TEST_KEYS, [pending]);
  expect(result).toMatchObject({ inserted: 0, duplicates: 0, erased: 1, patientIds: [] });
  expect(await patientByEmail(sql, email)).toBeUndefined();
  expect(await rawEvents(["ep-2"])).toBe(0);
  expect(await receipt("ep-2")).toBe("erased");
  // Admitted to the duplicate guard, which keeps no more of it than its id and time (migration
  // 023 put the canonical form there): a redelivery is a duplicate, not projected later.
  const [guard] = await sql`select canonical_enc, canonical from webhook_event_ids where event_id = 'ep-2'`;
  expect(guard).toEqual({ canonical_enc: null, canonical: null });
  expect(await projectBatch(sql, TEST_KEYS, [pending])).toMatchObject({ inserted: 0, duplicates: 1 });

  // The same person writing in again after the erasure is a new submission: a new patient.
  const later = event("ep-3", { email, firstName: "Greta" });
  expect(await projectBatch(sql, TEST_KEYS, [later])).toMatchObject({ inserted: 1, erased: 0 });
  expect((await patientByEmail(sql, email))?.first_name).toBe("Greta");
  expect(await receipt("ep-3")).toBe("projected");
});

test("a redelivery of an erased patient's projected webhook, in a batch with a new one: a duplicate, the batch written", async () => {
  const email = "redelivered@example.com";
  const projected = event("rd-1", { email, firstName: "Ida" });
  await projectBatch(sql, TEST_KEYS, [projected]);
  await Bun.sleep(5);
  await erasePatient(sql, TEST_KEYS, String((await patientByEmail(sql, email))!.id), { actor: "test" });
  // Redelivered (its ack was lost) together with another patient's new webhook.
  const result = await projectBatch(sql, TEST_KEYS, [projected, event("rd-2", { email: "new@example.com" })]);
  expect(result).toMatchObject({ inserted: 1, duplicates: 1, erased: 0 });
  expect(await patientByEmail(sql, email)).toBeUndefined();
  expect((await patientByEmail(sql, "new@example.com"))?.events_count).toBe(1);
});

test("a pending webhook naming an email the patient had only through a merge creates nothing either", async () => {
  await projectBatch(sql, TEST_KEYS, [
    event("em-1", { email: "kept@example.com", firstName: "Mia" }),
    event("em-2", { email: "merged@example.com", firstName: "Mia" }),
  ]);
  const kept = (await patientByEmail(sql, "kept@example.com"))!;
  const merged = (await patientByEmail(sql, "merged@example.com"))!;
  // Merged as the dashboard merges (its raw events and submissions move, the other row goes).
  await sql`update webhook_events set patient_id = ${kept.id} where patient_id = ${merged.id}`;
  await sql`update form_submissions set patient_id = ${kept.id} where patient_id = ${merged.id}`;
  await sql`delete from patients where id = ${merged.id}`;
  const pending = event("em-3", { email: "merged@example.com", firstName: "Mia" });
  await Bun.sleep(5);
  await erasePatient(sql, TEST_KEYS, String(kept.id), { actor: "test" });
  expect(await projectBatch(sql, TEST_KEYS, [pending])).toMatchObject({ inserted: 0, erased: 1 });
  expect(await patientByEmail(sql, "merged@example.com")).toBeUndefined();
});

test("an erasure that commits while a batch is being written: the batch is written again, without that patient's events", async () => {
  const email = "racing@example.com";
  const other = "bystander@example.com";
  const mine = event("er-1", { email, firstName: "Rita" });
  const bystander = event("er-2", { email: other, firstName: "Bea" });
  await Bun.sleep(5);
  // Another transaction creates the patient and, before committing, leaves a tombstone of its
  // email, as an erasure would: the batch's first look finds none (not committed yet), then
  // its insert of the same email waits for this transaction; it commits while the batch runs.
  const state: PatientState = {
    values: { firstName: "Rita" } as PatientState["values"],
    answers: {},
    source: "generic",
    formId: "f1",
    lastEventId: "er-0",
    submittedAt: new Date(),
  };
  const held = Promise.withResolvers<void>();
  const ready = Promise.withResolvers<void>();
  const erasing = sql.begin(async (tx) => {
    await insertPatients(tx, TEST_KEYS, [{ email, state, clientId: null }], false);
    const [row] = await tx`select email_bidx from patients where first_event_id = 'er-0'`;
    await tx`insert into patient_erasures (client_key, email_bidx) values (0, ${row!.email_bidx})`;
    ready.resolve();
    await held.promise;
  });
  await ready.promise;
  const batch = projectBatch(sql, TEST_KEYS, [mine, bystander]);
  // The batch is waiting on this transaction's row (its insert of the same email).
  await waitForLockWait(sql);
  held.resolve();
  await erasing;
  const result = await batch;
  // Rita's event went nowhere; the bystander's batch-mate was written.
  expect(result).toMatchObject({ inserted: 1, erased: 1 });
  const rita = await patientByEmail(sql, email);
  expect(rita?.events_count).toBe(1);
  expect(rita?.last_event_id).toBe("er-0");
  expect(await rawEvents(["er-1"])).toBe(0);
  expect(await rawEvents(["er-2"])).toBe(1);
  expect((await patientByEmail(sql, other))?.first_name).toBe("Bea");
  expect(await receipt("er-1")).toBe("erased");
});
