// Issue #7 item 6 through the real pipeline: a webhook carrying someone's email but another
// date of birth is stored and listed as a conflict, never merged; one that agrees with the
// patient's identity is merged as before; a reviewer accepts or dismisses conflicts.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ADMIN, type Cluster, postWebhook, signGeneric, startCluster, waitFor } from "./harness.ts";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector", "dashboard"], { BATCH_DELAY_MS: "5" });
});
afterAll(() => cluster?.stop());

const email = "ada.victim@example.com";
const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
let projected = 0;

/** Posts one signed webhook and waits until the projector stored it. */
async function submit(id: string, data: Record<string, string>, submittedAt: string): Promise<void> {
  const res = await postWebhook(
    cluster.services.ingress!.url,
    "generic",
    signGeneric({ timestamp: submittedAt, data: { Email: email, ...data } }, id),
  );
  expect(res.status).toBe(200);
  projected += 1;
  await waitFor(
    `${id} projected`,
    async () => (await cluster.sql`select count(*)::int as n from webhook_events`)[0]!.n === projected,
  );
}

const api = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${cluster.services.dashboard!.url}${path}`, {
    ...init,
    headers: { ...ADMIN, "content-type": "application/json", ...init.headers },
  });
  return { status: res.status, body: (await res.json()) as any };
};
const patientNow = async () => (await api(`/api/v1/patients?q=${email}`)).body.items[0];
/** The patient's detail: a listing leaves out answers. */
const detailNow = async () => (await api(`/api/v1/patients/${(await patientNow()).id}`)).body;

test("same email, another date of birth: stored and linked, patient unchanged, conflict listed", async () => {
  await submit(
    "msg_conf_a",
    { Vorname: "Ada", Nachname: "Lovelace", Geburtsdatum: "1990-01-01", Telefon: "+49 30 1111111" },
    at(5),
  );
  const before = await detailNow();
  expect(before).toMatchObject({ dateOfBirth: "1990-01-01", phone: "+49301111111", eventsCount: 1, openConflicts: 0 });

  await submit("msg_conf_b", { Geburtsdatum: "1991-02-02", Telefon: "+49 30 9999999", Stadt: "Evilton" }, at(1));
  const after = await detailNow();
  expect(after).toMatchObject({
    dateOfBirth: "1990-01-01",
    phone: "+49301111111",
    city: null,
    eventsCount: 2,
    openConflicts: 1,
  });
  expect(after.answers).toEqual(before.answers);

  const open = await api("/api/v1/conflicts?status=open");
  expect(open.status).toBe(200);
  expect(open.body.items).toHaveLength(1);
  expect(open.body.items[0]).toMatchObject({
    patientId: before.id,
    fields: ["dateOfBirth"],
    status: "open",
    resolvedAt: null,
  });
  expect(open.body.items[0].submission).toMatchObject({
    dateOfBirth: "1991-02-02",
    phone: "+49309999999",
    city: "Evilton",
  });
  const mine = await api(`/api/v1/patients/${before.id}/conflicts`);
  expect(mine.body.items.map((c: { id: string }) => c.id)).toEqual([open.body.items[0].id]);
  // The submission itself is kept, linked to the patient.
  const events = await api("/api/v1/events");
  expect(events.body.items.find((e: { eventId: string }) => e.eventId === open.body.items[0].eventId)).toMatchObject({
    patientId: before.id,
  });
});

test("same date of birth (name written differently), another phone: merged as before", async () => {
  await submit(
    "msg_conf_c",
    { Vorname: "ADA", Nachname: " lovelace", Geburtsdatum: "1990-01-01", Telefon: "+49 30 3333333" },
    at(3),
  );
  expect(await patientNow()).toMatchObject({
    dateOfBirth: "1990-01-01",
    phone: "+49303333333",
    eventsCount: 3,
    openConflicts: 1,
  });
  expect((await api("/api/v1/conflicts")).body.items).toHaveLength(1);
});

test("accept applies the submission as later-wins would have; a resolved conflict cannot be resolved again", async () => {
  const [conflict] = (await api("/api/v1/conflicts")).body.items;
  const cached = await api(`/api/v1/patients/${conflict.patientId}`); // fills the cache
  expect(cached.body.dateOfBirth).toBe("1990-01-01");

  const accepted = await api(`/api/v1/conflicts/${conflict.id}/resolve`, {
    method: "POST",
    body: JSON.stringify({ action: "accept" }),
  });
  expect(accepted.status).toBe(200);
  expect(accepted.body.conflict).toMatchObject({ id: conflict.id, status: "accepted" });
  expect(accepted.body.conflict.resolvedAt).toBeString();
  // b is the newest submission: its values win; what it lacked stays.
  expect(accepted.body.patient).toMatchObject({
    dateOfBirth: "1991-02-02",
    phone: "+49309999999",
    city: "Evilton",
    firstName: "ADA",
    eventsCount: 3,
    openConflicts: 0,
  });
  expect((await api(`/api/v1/patients/${conflict.patientId}`)).body).toMatchObject({ dateOfBirth: "1991-02-02" });

  const again = await api(`/api/v1/conflicts/${conflict.id}/resolve`, {
    method: "POST",
    body: JSON.stringify({ action: "dismiss" }),
  });
  expect(again).toMatchObject({ status: 409, body: { error: { code: "conflict_resolved" } } });
  expect((await api("/api/v1/conflicts")).body.items).toEqual([]);
  expect((await api("/api/v1/conflicts?status=accepted")).body.items.map((c: { id: string }) => c.id)).toEqual([
    conflict.id,
  ]);
});

test("dismiss leaves the patient unchanged", async () => {
  await submit("msg_conf_d", { Vorname: "Eve", Telefon: "+49 30 4444444" }, at(0));
  const before = await patientNow();
  const [conflict] = (await api("/api/v1/conflicts")).body.items;
  expect(conflict.fields).toEqual(["firstName"]);
  // Read once through the cached route, so the count sits in Redis before the dismiss.
  expect((await api(`/api/v1/patients/${before.id}`)).body.openConflicts).toBe(1);
  const dismissed = await api(`/api/v1/conflicts/${conflict.id}/resolve`, {
    method: "POST",
    body: JSON.stringify({ action: "dismiss" }),
  });
  expect(dismissed.status).toBe(200);
  expect(dismissed.body.conflict.status).toBe("dismissed");
  const { openConflicts, ...rest } = before;
  expect(await patientNow()).toEqual({ ...rest, openConflicts: 0 });
  // The dismiss changed the patient's count: its cached copy is gone too.
  expect((await api(`/api/v1/patients/${before.id}`)).body.openConflicts).toBe(0);
});

test("the projector counts the submissions it held back", async () => {
  const metrics = await (await fetch(`${cluster.services.projector!.url}/metrics`)).text();
  expect(/hookline_projector_conflicts(?:_total)? (\d+)/.exec(metrics)?.[1]).toBe("2");
});

test("the conflict routes need a token and refuse bad input with the JSON error contract", async () => {
  const base = cluster.services.dashboard!.url;
  expect((await fetch(`${base}/api/v1/conflicts`)).status).toBe(401);
  expect(
    (await fetch(`${base}/api/v1/conflicts/1/resolve`, { method: "POST", body: '{"action":"accept"}' })).status,
  ).toBe(401);
  expect(await api("/api/v1/conflicts?status=maybe")).toMatchObject({
    status: 400,
    body: { error: { code: "invalid_status" } },
  });
  expect(await api("/api/v1/conflicts?cursor=nope")).toMatchObject({
    status: 400,
    body: { error: { code: "invalid_cursor" } },
  });
  expect(await api("/api/v1/conflicts/1/resolve", { method: "POST", body: '{"action":"merge"}' })).toMatchObject({
    status: 400,
    body: { error: { code: "invalid_request" } },
  });
  expect(await api("/api/v1/conflicts/999999/resolve", { method: "POST", body: '{"action":"accept"}' })).toMatchObject({
    status: 404,
    body: { error: { code: "conflict_not_found" } },
  });
});
