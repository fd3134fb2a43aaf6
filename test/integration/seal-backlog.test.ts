// Rows an earlier version stored in clear (before migrations 009 and 010), or with each
// encrypted field sealed alone (before 018): read as they are until sealed, sealed by the
// projector's start (sealBacklog) with their blind indexes, the older columns emptied, so the
// patient is then found by email like any other.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { getPatient } from "../../services/dashboard/patients.ts";
import type { Sql } from "../../shared/db/client.ts";
import { sealBacklog } from "../../shared/db/rotate.ts";
import {
  CANONICAL_FORM,
  indexCell,
  openCell,
  PACKED_PATIENT_FIELDS,
  PATIENTS,
  sealCell,
  sealPacked,
} from "../../shared/db/sealed.ts";
import { createLogger } from "../../shared/logger.ts";
import { patientByEmail, TEST_KEYS } from "../keys.ts";
import { freshDatabase } from "./harness.ts";

let sql: Sql;
beforeAll(async () => {
  sql = await freshDatabase();
});
afterAll(() => sql?.end());

test("a patient, its submission and raw event from before encryption are read, then sealed at start", async () => {
  const [patient] = await sql<{ id: string }[]>`
    insert into patients (email, first_name, phone, date_of_birth, street, answers, source, first_event_id,
      last_event_id, submitted_at)
    values ('old@example.com', 'Olga', '+4930123456', '1970-05-06', 'Altweg 1', '{"E-Mail":"old@example.com"}',
      'generic', 'old1', 'old1', now())
    returning id`;
  const id = patient!.id;
  await sql`insert into form_submissions (event_id, source, form_id, patient_id, submitted_at, answers)
    values ('old1', 'generic', 'f', ${id}, now(), '[{"label":"E-Mail","value":"old@example.com"}]')`;
  await sql`select hookline_ensure_month_partition(now())`;
  // As migration 023 leaves a raw event from before 010: its canonical form in clear on its guard row.
  await sql`insert into webhook_event_ids (event_id, received_at, canonical)
    values ('old1', now(), '{"patient":{"email":"old@example.com"}}')`;
  await sql`insert into webhook_events (event_id, received_at, source, body)
    values ('old1', now(), 'generic', '{"E-Mail":"old@example.com"}')`;
  await sql`insert into encryption_backlog values ('patients'), ('form_submissions'), ('webhook_events'), ('webhook_event_ids')`;

  // Before sealing: the dashboard reads the plaintext columns; the blind index does not know it yet.
  expect(await getPatient(sql, TEST_KEYS, id)).toMatchObject({
    email: "old@example.com",
    phone: "+4930123456",
    dateOfBirth: "1970-05-06",
    street: "Altweg 1",
    answers: { "E-Mail": "old@example.com" },
  });
  expect(await patientByEmail(sql, "old@example.com")).toBeUndefined();

  await sealBacklog(sql, TEST_KEYS, createLogger("test", "silent"));

  expect(await sql`select table_name from encryption_backlog`).toEqual([] as never);
  const [clear] = await sql`select email, phone, date_of_birth, street, answers from patients where id = ${id}`;
  expect(clear).toEqual({ email: null, phone: null, date_of_birth: null, street: null, answers: null });
  const [raw] = await sql`select body, body_enc is not null as sealed from webhook_events`;
  expect(raw).toEqual({ body: null, sealed: true });
  const [guard] = await sql`select canonical, canonical_enc from webhook_event_ids where event_id = 'old1'`;
  expect(guard!.canonical).toBeNull();
  expect(openCell(TEST_KEYS, CANONICAL_FORM, guard!.canonical_enc)).toEqual({ patient: { email: "old@example.com" } });
  expect((await patientByEmail(sql, "old@example.com"))?.id).toBe(id);
  expect(await getPatient(sql, TEST_KEYS, id)).toMatchObject({
    email: "old@example.com",
    phone: "+4930123456",
    dateOfBirth: "1970-05-06",
    answers: { "E-Mail": "old@example.com" },
  });
});

test("a patient whose fields were each sealed alone (before migration 018) is read, then packed at start", async () => {
  const packed = PACKED_PATIENT_FIELDS;
  const own = (name: string, value: string) => {
    const part = packed.parts.find((p) => p.name === name)!;
    return sealCell(TEST_KEYS, part.sealed, value);
  };
  const emailIndex = PATIENTS.blindIndexes.find((b) => b.part === "email")!;
  const [patient] = await sql<{ id: string }[]>`
    insert into patients (email_enc, email_bidx, phone_enc, date_of_birth_enc, street_enc, postal_code_enc,
      first_name, source, first_event_id, last_event_id, submitted_at)
    values (${own("email", "per.field@example.com")}, ${indexCell(TEST_KEYS, emailIndex, "per.field@example.com")},
      ${own("phone", "+4930987654")}, ${own("dateOfBirth", "1980-02-03")}, ${own("street", "Einzelweg 2")},
      ${own("postalCode", "10115")}, 'Pia', 'generic', 'pf1', 'pf1', now())
    returning id`;
  const id = patient!.id;
  await sql`insert into encryption_backlog values ('patients') on conflict do nothing`;
  const fields = {
    email: "per.field@example.com",
    phone: "+4930987654",
    dateOfBirth: "1980-02-03",
    street: "Einzelweg 2",
    postalCode: "10115",
  };

  // Before packing: read from the per-field columns, and found by email as before.
  expect(await getPatient(sql, TEST_KEYS, id)).toMatchObject(fields);
  expect((await patientByEmail(sql, "per.field@example.com"))?.id).toBe(id);

  await sealBacklog(sql, TEST_KEYS, createLogger("test", "silent"));

  const [row] = await sql`
    select email_enc, phone_enc, date_of_birth_enc, street_enc, postal_code_enc, fields_enc is not null as packed
    from patients where id = ${id}`;
  expect(row).toEqual({
    email_enc: null,
    phone_enc: null,
    date_of_birth_enc: null,
    street_enc: null,
    postal_code_enc: null,
    packed: true,
  });
  expect(await getPatient(sql, TEST_KEYS, id)).toMatchObject(fields);
  expect((await patientByEmail(sql, "per.field@example.com"))?.id).toBe(id);
});

test("a packed patient with a field still in its own column (a field made encrypted later, or an older pod's write) keeps it: read, then packed", async () => {
  const packed = PACKED_PATIENT_FIELDS;
  const emailIndex = PATIENTS.blindIndexes.find((b) => b.part === "email")!;
  const fields = sealPacked(TEST_KEYS, packed, { email: "late.field@example.com", phone: "+4930111222" });
  const [patient] = await sql<{ id: string }[]>`
    insert into patients (fields_enc, email_bidx, street, first_name, source, first_event_id, last_event_id, submitted_at)
    values (${fields}, ${indexCell(TEST_KEYS, emailIndex, "late.field@example.com")}, 'Spätweg 3', 'Lea', 'generic',
      'lf1', 'lf1', now())
    returning id`;
  const id = patient!.id;
  const whole = { email: "late.field@example.com", phone: "+4930111222", street: "Spätweg 3" };
  expect(await getPatient(sql, TEST_KEYS, id)).toMatchObject(whole);

  await sql`insert into encryption_backlog values ('patients') on conflict do nothing`;
  await sealBacklog(sql, TEST_KEYS, createLogger("test", "silent"));

  const [row] = await sql`select street from patients where id = ${id}`;
  expect(row).toEqual({ street: null });
  expect(await getPatient(sql, TEST_KEYS, id)).toMatchObject(whole);
});
