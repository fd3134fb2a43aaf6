// `hookline reproject` (ops/reproject.ts) against real Postgres: a submission held back as an
// identity conflict (patient_conflicts) merged nothing into its patient, so re-mapping it must
// not merge anything either, until a person accepts it; and an erasure that commits while it
// runs leaves nothing of the patient behind.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { reprojectForm } from "../../ops/reproject.ts";
import type { DecodedEvent } from "../../services/projector/decode.ts";
import { projectBatch } from "../../services/projector/project.ts";
import type { Sql } from "../../shared/db/client.ts";
import { loadSources, type SourceConfig } from "../../shared/sources/index.ts";
import { parsedEvent } from "../decoded-event.ts";
import { patientByEmail, TEST_KEYS } from "../keys.ts";
import { freshDatabase, ROOT, waitForLockWait } from "./harness.ts";

let sql: Sql;
let generic: SourceConfig;
beforeAll(async () => {
  sql = await freshDatabase();
  generic = loadSources(join(ROOT, "ops/dev/sources.yaml"), { HOOKLINE_ENV: "development" }).get("generic")!;
});
afterAll(() => sql?.end());

const FORM = "intake-conflict";
/** An event as the projector got it: the body parsed by the generic adapter, then `older` applied (the old mapping). */
function event(
  id: string,
  submittedAt: string,
  data: Record<string, string>,
  older: (p: Record<string, unknown>) => void,
): DecodedEvent {
  const e = parsedEvent(id, generic, JSON.stringify({ formId: FORM, submittedAt, data }), { submittedAt });
  const patient = { ...e.event.patient } as Record<string, unknown>;
  older(patient);
  return { ...e, event: { ...e.event, formId: FORM, patient: patient as DecodedEvent["event"]["patient"] } };
}

test("reprojecting a held-back conflict merges none of its values into the patient", async () => {
  const email = "ada.conflict@example.com";
  await projectBatch(sql, TEST_KEYS, [
    event("rc-1", "2026-03-01T00:00:00Z", { "First name": "Ada", "Last name": "Lovelace", Email: email }, () => {}),
  ]);
  // Someone else types Ada's email: another name, so it is a conflict. The mapping of the day
  // missed its phone (a correction saved later maps it).
  await projectBatch(sql, TEST_KEYS, [
    event(
      "rc-2",
      "2026-03-02T00:00:00Z",
      { "First name": "Eve", "Last name": "Mallory", Email: email, "Phone number": "+4915112345678" },
      (p) => {
        delete p.phone;
      },
    ),
  ]);
  const [conflict] = await sql`select status from patient_conflicts where event_id = 'rc-2'`;
  expect(conflict?.status).toBe("open");
  expect((await patientByEmail(sql, email))?.phone ?? null).toBeNull();

  const result = await reprojectForm({ sql, keys: TEST_KEYS, source: generic, formId: FORM, actor: "test" });
  expect(result.changedEvents).toBe(1); // rc-2's phone is mapped now

  const patient = await patientByEmail(sql, email);
  // Eve's phone must not land on Ada's record: the conflict is still open.
  expect(patient?.phone ?? null).toBeNull();
  expect(patient?.first_name).toBe("Ada");
});

test("an erasure that commits while reproject runs: the erased event's guard row gets no canonical form back", async () => {
  const email = "erased.during.reproject@example.com";
  await projectBatch(sql, TEST_KEYS, [
    event(
      "re-1",
      "2026-03-03T00:00:00Z",
      { "First name": "Ida", "Last name": "Gone", Email: email, "Phone number": "+4915199999999" },
      (p) => {
        delete p.phone;
      },
    ),
  ]);
  const id = (await patientByEmail(sql, email))!.id;
  // The erasure's order (shared/db/erase.ts): the patient locked first, then its raw events
  // deleted and their guard rows cleared. Held while reproject reads its page and reaches the event.
  const held = Promise.withResolvers<void>();
  const erasing = sql.begin(async (tx) => {
    await tx`select id from patients where id = ${id} for update`;
    await held.promise;
    await tx`delete from webhook_events where patient_id = ${id}`;
    await tx`update webhook_event_ids set canonical_enc = null, canonical = null where event_id = 're-1'`;
    await tx`delete from form_submissions where patient_id = ${id}`;
    await tx`delete from patients where id = ${id}`;
  });
  const reprojecting = reprojectForm({ sql, keys: TEST_KEYS, source: generic, formId: FORM, actor: "test" });
  await waitForLockWait(sql);
  held.resolve();
  await erasing;
  expect((await reprojecting).changedEvents).toBeGreaterThanOrEqual(1);
  const [guard] = await sql`select canonical_enc, canonical from webhook_event_ids where event_id = 're-1'`;
  expect(guard).toEqual({ canonical_enc: null, canonical: null });
  expect(await patientByEmail(sql, email)).toBeUndefined();
});
