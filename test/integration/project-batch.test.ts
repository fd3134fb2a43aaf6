// projectBatch against real Postgres: per-field "later submission wins", across and within
// batches, and idempotence on redelivery.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readProjectorConfig } from "../../services/projector/config.ts";
import type { DecodedEvent } from "../../services/projector/decode.ts";
import { projectBatch } from "../../services/projector/project.ts";
import type { Sql } from "../../shared/db/client.ts";
import { PATIENT_CONFLICTS, PATIENTS, WEBHOOK_EVENTS } from "../../shared/db/sealed.ts";
import type { PatientRecord } from "../../shared/sources/index.ts";
import { decodedEvent } from "../decoded-event.ts";
import { openRows, patientByEmail, TEST_KEYS } from "../keys.ts";
import { freshDatabase } from "./harness.ts";

const project = (events: DecodedEvent[]) => projectBatch(sql, TEST_KEYS, events);

let sql: Sql;
beforeAll(async () => {
  sql = await freshDatabase();
});
afterAll(() => sql?.end());

/** A submission of `patient` at `submittedAt` (received now). */
const event = (id: string, submittedAt: string, patient: PatientRecord) => decodedEvent(id, patient, { submittedAt });

const row = async (email: string) => {
  const p = await patientByEmail(sql, email);
  return (
    p && {
      phone: p.phone,
      city: p.city,
      first_name: p.first_name,
      events_count: p.events_count,
      last_event_id: p.last_event_id,
    }
  );
};

test("a batch holding an older and a newer submission never lets the older overwrite what is stored", async () => {
  const email = "order@example.com";
  await project([event("e5", "2026-01-05T00:00:00Z", { email, phone: "+4930555", city: "Berlin" })]);
  // In one batch: an older one with another phone, a newer one with no phone but a city.
  await project([
    event("e3", "2026-01-03T00:00:00Z", { email, phone: "+4940333", firstName: "Old" }),
    // (it names the patient, as e3 did: a submission that confirms no identity may not replace values)
    event("e7", "2026-01-07T00:00:00Z", { email, city: "Hamburg", firstName: "Old" }),
  ]);
  expect(await row(email)).toEqual({
    phone: "+4930555",
    city: "Hamburg",
    first_name: "Old",
    events_count: 3,
    last_event_id: "e7",
  });
});

test("two submissions of one email in a batch: the later one's values win", async () => {
  const email = "twice@example.com";
  await project([
    event("t2", "2026-02-02T00:00:00Z", { email, city: "Köln" }),
    event("t1", "2026-02-01T00:00:00Z", { email, city: "Bonn", phone: "+49228111" }),
  ]);
  expect(await row(email)).toEqual({
    phone: "+49228111",
    city: "Köln",
    first_name: null,
    events_count: 2,
    last_event_id: "t2",
  });
});

test("a redelivered batch changes nothing", async () => {
  const email = "again@example.com";
  const batch = [event("r1", "2026-03-01T00:00:00Z", { email, city: "Ulm" })];
  const first = await project(batch);
  const before = await row(email);
  const second = await project(batch);
  expect(first).toMatchObject({ inserted: 1, duplicates: 0 });
  expect(second).toMatchObject({ inserted: 0, duplicates: 1 });
  expect(await row(email)).toEqual(before);
  const [n] = await sql`select count(*)::int as n from webhook_events where event_id = 'r1'`;
  expect(n!.n).toBe(1);
});

test("the largest allowed batch (BATCH_SIZE 10,000) is written in one transaction", async () => {
  // The limit the projector accepts: one more is a configuration error.
  expect(readProjectorConfig({ HOOKLINE_ENV: "development", BATCH_SIZE: "10000" }).batchSize).toBe(10_000);
  expect(() => readProjectorConfig({ HOOKLINE_ENV: "development", BATCH_SIZE: "10001" })).toThrow("BATCH_SIZE");
  const N = 10_000;
  const full = (i: number): PatientRecord => ({
    email: `big.${i % 8000}@example.com`, // 2,000 emails twice: two rounds
    firstName: "Big",
    lastName: `Batch${i % 8000}`,
    phone: `+4930${String(i).padStart(7, "0")}`,
    dateOfBirth: "1980-02-29",
    gender: "female",
    street: "Hauptstr. 1",
    postalCode: "10115",
    city: "Berlin",
    country: "DE",
    consent: true,
  });
  const batch = Array.from({ length: N }, (_, i) => {
    const e = event(
      `big${i}`,
      new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      i >= N - 100 ? { firstName: "Anon" } : full(i),
    );
    // Many questions across forms, with characters an array literal must escape.
    e.event.formId = `form${i % 7}`;
    e.event.answers = [
      { label: `q${i % 50} "quoted" \\ back, {brace}`, value: `v${i}` },
      { label: "x", value: null },
    ];
    e.body = JSON.stringify({ i, note: 'a "quote" and \\ backslash, {curly} NULL' });
    return e;
  });
  const result = await project(batch);
  expect(result.inserted).toBe(N);
  const [counts] = await sql`select
      (select count(*)::int from webhook_events where event_id like 'big%') as events,
      (select count(distinct projected_at)::int from webhook_events where event_id like 'big%') as transactions,
      (select count(*)::int from form_submissions where event_id like 'big%') as submissions,
      (select count(*)::int from form_questions where form_id like 'form%' and label like 'q%') as questions`;
  expect(counts).toEqual({ events: N, transactions: 1, submissions: N, questions: 350 });
  const patients = (await openRows(sql, PATIENTS)).filter(
    (p) => p.email?.startsWith("big.") || p.first_name === "Anon",
  );
  expect(patients).toHaveLength(8000 + 100);
  // Later wins inside the big batch too: big.5 got submissions 5 and 8005, 8005 is later.
  const p = await patientByEmail(sql, "big.5@example.com");
  expect({ phone: p!.phone, events_count: p!.events_count }).toEqual({ phone: "+49300008005", events_count: 2 });
  const [stored] = await openRows(sql, WEBHOOK_EVENTS, sql`event_id = 'big7'`);
  expect(JSON.parse(stored!.body)).toEqual({ i: 7, note: 'a "quote" and \\ backslash, {curly} NULL' });
}, 60_000);

const patient = async (email: string) => {
  const p = (await patientByEmail(sql, email))!;
  const { id, first_name, last_name, date_of_birth: dob, phone, city, events_count, last_event_id, answers } = p;
  return { id, first_name, last_name, dob, phone, city, events_count, last_event_id, answers };
};
const conflicts = async (email: string) => {
  const { id } = (await patientByEmail(sql, email))!;
  return (await openRows(sql, PATIENT_CONFLICTS, sql`patient_id = ${id}`)).map((c) => ({
    event_id: c.event_id,
    fields: c.fields,
    status: c.status,
    phone: c.submission.phone,
    dob: c.submission.dateOfBirth,
  }));
};

test("a submission contradicting the stored date of birth is kept, merges nothing, and is recorded as a conflict", async () => {
  const email = "victim@example.com";
  await project([
    event("v1", "2026-04-01T00:00:00Z", {
      email,
      firstName: "Ada",
      lastName: "Lovelace",
      dateOfBirth: "1990-01-01",
      phone: "+4930111",
      city: "Berlin",
    }),
  ]);
  const before = await patient(email);
  const r = await project([
    event("v2", "2026-04-02T00:00:00Z", { email, dateOfBirth: "1991-02-02", phone: "+4930999", street: "Evil 1" }),
  ]);
  expect(r).toMatchObject({ inserted: 1, conflicts: 1, patientIds: [before.id] });
  // Nothing of v2 reached the patient (not even its answers); it is still counted.
  expect(await patient(email)).toEqual({ ...before, events_count: 2 });
  expect(await conflicts(email)).toEqual([
    { event_id: "v2", fields: ["dateOfBirth"], status: "open", phone: "+4930999", dob: "1991-02-02" },
  ]);
  // The submission itself is stored and linked to the patient.
  const stored =
    await sql`select e.patient_id as e, s.patient_id as s from webhook_events e join form_submissions s using (event_id) where event_id = 'v2'`;
  expect([...stored]).toEqual([{ e: before.id, s: before.id }]);
});

test("names match ignoring case, accents and spaces, and a missing identity value is no conflict: merged as before", async () => {
  const email = "zoe@example.com";
  await project([
    event("z1", "2026-04-01T00:00:00Z", {
      email,
      firstName: "Zoë",
      lastName: "Müller-Weiß",
      dateOfBirth: "1990-01-01",
      phone: "+4930111",
    }),
  ]);
  await project([
    event("z2", "2026-04-02T00:00:00Z", {
      email,
      firstName: "ZOE",
      lastName: " muller weiss ",
      dateOfBirth: "1990-01-01",
      phone: "+4930222",
    }),
  ]);
  await project([event("z3", "2026-04-03T00:00:00Z", { email, city: "Köln" })]);
  expect(await patient(email)).toMatchObject({
    first_name: "ZOE",
    dob: "1990-01-01",
    phone: "+4930222",
    city: "Köln",
    events_count: 3,
    last_event_id: "z3",
  });
  expect(await conflicts(email)).toEqual([]);
});

test("within one batch, each submission is checked against what the earlier ones wrote", async () => {
  const email = "rounds@example.com";
  const r = await project([
    event("w3", "2026-05-03T00:00:00Z", { email, dateOfBirth: "1980-01-01", phone: "+4930333" }), // agrees with w1: merged
    event("w2", "2026-05-02T00:00:00Z", { email, dateOfBirth: "1970-07-07", phone: "+4930222" }), // contradicts w1: conflict
    event("w1", "2026-05-01T00:00:00Z", { email, firstName: "Wim", dateOfBirth: "1980-01-01", phone: "+4930111" }), // creates the patient
  ]);
  expect(r).toMatchObject({ inserted: 3, conflicts: 1 });
  expect(await patient(email)).toMatchObject({
    first_name: "Wim",
    dob: "1980-01-01",
    phone: "+4930333",
    events_count: 3,
    last_event_id: "w3",
  });
  expect((await conflicts(email)).map((c) => c.event_id)).toEqual(["w2"]);
});

test("concurrent batches sharing patients in different orders neither deadlock nor lose a count", async () => {
  // Big enough that the batches' lock phases overlap: with rows locked in arrival order
  // instead of email order, this deadlocks (40P01) nearly every run.
  const E = 3000;
  const emails = Array.from({ length: E }, (_, i) => `shared.${i}@example.com`);
  // Half of them exist already; the rest are created by whichever batch comes first.
  await project(
    emails
      .slice(0, E / 2)
      .map((email, i) => event(`pre${i}`, "2026-06-01T00:00:00Z", { email, dateOfBirth: "1990-01-01" })),
  );
  const batches = Array.from({ length: 4 }, (_, b) =>
    emails.map((_, k) => {
      const i = b % 2 ? E - 1 - k : k; // every other batch walks the emails backwards
      return event(`c${b}_${k}`, new Date(Date.UTC(2026, 5, 2, b) + k).toISOString(), {
        email: emails[i]!,
        dateOfBirth: "1990-01-01",
        phone: `+49${b}${k}`,
      });
    }),
  );
  // Four open connections first, so the batches start together rather than one per connect.
  await Promise.all(batches.map(() => sql.begin((tx) => tx`select pg_sleep(0.05)`)));
  const results = await Promise.all(batches.map((batch) => project(batch)));
  expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(4 * E);
  const shared = (await openRows(sql, PATIENTS)).filter((p) => p.email?.startsWith("shared."));
  expect({ patients: shared.length, events: shared.reduce((n, p) => n + p.events_count, 0) }).toEqual({
    patients: E,
    events: E / 2 + 4 * E,
  });
}, 60_000);
