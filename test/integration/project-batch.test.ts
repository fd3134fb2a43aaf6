// projectBatch against real Postgres: per-field "later submission wins", across and within
// batches, and idempotence on redelivery.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Sql } from "../../shared/db/client.ts";
import type { PatientRecord } from "../../shared/sources/index.ts";
import type { DecodedEvent } from "../../services/projector/decode.ts";
import { projectBatch } from "../../services/projector/project.ts";
import { readProjectorConfig } from "../../services/projector/config.ts";
import { freshDatabase } from "./harness.ts";

let sql: Sql;
beforeAll(async () => {
  sql = await freshDatabase();
});
afterAll(() => sql?.end());

let seq = 0;
function event(id: string, submittedAt: string, patient: PatientRecord): DecodedEvent {
  return {
    eventId: id,
    receivedAt: new Date(),
    streamSeq: ++seq,
    contentType: "application/json",
    body: "{}",
    traceId: null,
    event: { source: "generic", formId: "f1", providerEventId: id, submittedAt, answers: [{ label: "x", value: id }], patient, confidence: {} },
  };
}

const row = async (email: string) =>
  (await sql`select phone, city, first_name, events_count, last_event_id from patients where email = ${email}`)[0];

test("a batch holding an older and a newer submission never lets the older overwrite what is stored", async () => {
  const email = "order@example.com";
  await projectBatch(sql, [event("e5", "2026-01-05T00:00:00Z", { email, phone: "+4930555", city: "Berlin" })], new Set());
  // In one batch: an older one with another phone, a newer one with no phone but a city.
  await projectBatch(
    sql,
    [
      event("e3", "2026-01-03T00:00:00Z", { email, phone: "+4940333", firstName: "Old" }),
      event("e7", "2026-01-07T00:00:00Z", { email, city: "Hamburg" }),
    ],
    new Set(),
  );
  expect(await row(email)).toEqual({ phone: "+4930555", city: "Hamburg", first_name: "Old", events_count: 3, last_event_id: "e7" });
});

test("two submissions of one email in a batch: the later one's values win", async () => {
  const email = "twice@example.com";
  await projectBatch(
    sql,
    [event("t2", "2026-02-02T00:00:00Z", { email, city: "Köln" }), event("t1", "2026-02-01T00:00:00Z", { email, city: "Bonn", phone: "+49228111" })],
    new Set(),
  );
  expect(await row(email)).toEqual({ phone: "+49228111", city: "Köln", first_name: null, events_count: 2, last_event_id: "t2" });
});

test("a redelivered batch changes nothing", async () => {
  const email = "again@example.com";
  const batch = [event("r1", "2026-03-01T00:00:00Z", { email, city: "Ulm" })];
  const first = await projectBatch(sql, batch, new Set());
  const before = await row(email);
  const second = await projectBatch(sql, batch, new Set());
  expect(first).toMatchObject({ inserted: 1, duplicates: 0 });
  expect(second).toMatchObject({ inserted: 0, duplicates: 1 });
  expect(await row(email)).toEqual(before);
  const [n] = await sql`select count(*)::int as n from webhook_events where event_id = 'r1'`;
  expect(n!.n).toBe(1);
});

test("the largest allowed batch (BATCH_SIZE 10,000) is written in one transaction", async () => {
  // The limit the projector accepts: one more is a configuration error.
  expect(readProjectorConfig({ BATCH_SIZE: "10000" }).batchSize).toBe(10_000);
  expect(() => readProjectorConfig({ BATCH_SIZE: "10001" })).toThrow();
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
    const e = event(`big${i}`, new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), i >= N - 100 ? { firstName: "Anon" } : full(i));
    // Many questions across forms, with characters an array literal must escape.
    e.event.formId = `form${i % 7}`;
    e.event.answers = [{ label: `q${i % 50} "quoted" \\ back, {brace}`, value: `v${i}` }, { label: "x", value: null }];
    e.body = JSON.stringify({ i, note: 'a "quote" and \\ backslash, {curly} NULL' });
    return e;
  });
  const result = await projectBatch(sql, batch, new Set());
  expect(result.inserted).toBe(N);
  const [counts] = await sql`select
      (select count(*)::int from webhook_events where event_id like 'big%') as events,
      (select count(distinct projected_at)::int from webhook_events where event_id like 'big%') as transactions,
      (select count(*)::int from patients where email like 'big.%' or first_name = 'Anon') as patients,
      (select count(*)::int from form_submissions where event_id like 'big%') as submissions,
      (select count(*)::int from form_questions where form_id like 'form%' and label like 'q%') as questions`;
  expect(counts).toEqual({ events: N, transactions: 1, patients: 8000 + 100, submissions: N, questions: 350 });
  // Later wins inside the big batch too: big.5 got submissions 5 and 8005, 8005 is later.
  const [p] = await sql`select phone, events_count from patients where email = 'big.5@example.com'`;
  expect(p).toEqual({ phone: "+49300008005", events_count: 2 });
  const [stored] = await sql`select body from webhook_events where event_id = 'big7'`;
  expect(JSON.parse(stored!.body)).toEqual({ i: 7, note: 'a "quote" and \\ backslash, {curly} NULL' });
}, 60_000);
