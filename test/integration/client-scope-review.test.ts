// Defects found by the access-control review (issue #11 item 1), each shown through the API with
// real Postgres and Redis, the dashboard app in process: what a client-scoped token must not
// learn about another client's (or the unassigned) patients through the routes it may call.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createDashboardApp } from "../../services/dashboard/app.ts";
import { createToken } from "../../services/dashboard/tokens.ts";
import { createRedis } from "../../shared/cache.ts";
import { createKeyring, newKeyText, parseKeyring } from "../../shared/crypto/keyring.ts";
import type { Keys } from "../../shared/crypto/keys.ts";
import type { Sql } from "../../shared/db/client.ts";
import { MERGED_FIELDS, type MergedField, type PatientState } from "../../shared/db/patient-merge.ts";
import { insertConflicts, insertPatients } from "../../shared/db/patients.ts";
import { createLogger } from "../../shared/logger.ts";
import { createMetrics } from "../../shared/metrics.ts";
import { loadSources } from "../../shared/sources/index.ts";
import { TEST_KEYS } from "../keys.ts";
import { callApp } from "./app-call.ts";
import { freshDatabase, ROOT, startService, waitFor, waitForLockWait } from "./harness.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1";
const log = createLogger("dashboard", "silent", new Writable({ write: (_c, _e, done) => done() }));
const ADMIN = "scope-review-admin-token-0123456789";

let sql: Sql;
let redis: ReturnType<typeof createRedis>;
let app: ReturnType<typeof createDashboardApp>;
let mine: string;
let other: string;
let scopedToken: string;

let seq = 0;
/** Patients written as the projector writes them (sealed, blind-indexed), of `clientId` (null: unassigned). */
async function addPatient(clientId: string | null, email: string | null, values: Partial<Record<MergedField, string>>) {
  const all = Object.fromEntries(MERGED_FIELDS.map((f) => [f, values[f] ?? null])) as PatientState["values"];
  all.fullName = [values.firstName, values.lastName].filter(Boolean).join(" ") || null;
  const state: PatientState = {
    values: all,
    answers: {},
    source: "generic",
    formId: "f1",
    lastEventId: `review-ev-${++seq}`,
    submittedAt: new Date(),
  };
  const [row] = await sql.begin((tx) => insertPatients(tx, TEST_KEYS, [{ email, state, clientId }], false));
  return row!.id;
}

const call = (token: string, method: string, path: string, body?: unknown) => callApp(app, token, method, path, body);

/** The dashboard app's dependencies, as every test here builds it. */
function appOptions(): Parameters<typeof createDashboardApp>[0] {
  return {
    sql,
    keys: TEST_KEYS,
    redis,
    sources: loadSources(join(ROOT, "ops/dev/sources.yaml"), { HOOKLINE_ENV: "development" }),
    apiTokens: `${ADMIN}=admin`,
    cacheTtlSeconds: 60,
    log,
    metrics: createMetrics("dashboard"),
    readiness: {},
  };
}

beforeAll(async () => {
  sql = await freshDatabase();
  await sql`truncate dashboard_tokens`;
  redis = createRedis(REDIS_URL, "hookline-test", log);
  await waitFor("redis", async () => (await redis.ping()) === "PONG");
  await redis.flushdb();
  app = createDashboardApp(appOptions());
  const ids = (await sql`insert into clients (name) values ('Review A'), ('Review B') returning id::text`).map(
    (r) => r.id as string,
  );
  mine = ids[0]!;
  other = ids[1]!;
  scopedToken = (await createToken(sql, { name: "review-editor", role: "editor", createdBy: "test", clientId: mine }))
    .token;
});

afterAll(async () => {
  redis?.disconnect();
  await sql?.end();
});

test("adding a patient by hand warns a client-scoped editor of its own client's likely duplicates only", async () => {
  // The same person (name and birth date) is a patient of the other client, and of this one.
  const theirs = await addPatient(other, null, { firstName: "Greta", lastName: "Geheim", dateOfBirth: "1980-01-02" });
  const ours = await addPatient(mine, null, { firstName: "Greta", lastName: "Geheim", dateOfBirth: "1980-01-02" });
  const added = await call(scopedToken, "POST", "/api/v1/patients", {
    firstName: "Greta",
    lastName: "Geheim",
    dateOfBirth: "1980-01-02",
  });
  expect(added.status).toBe(201);
  const warned = added.body.warnings.flatMap((w: { patientIds: string[] }) => w.patientIds);
  // Another client's patient id (and that it holds this person) is not this token's to learn.
  expect(warned).not.toContain(theirs);
  expect(warned).toEqual([ours]);
});

test("a client-scoped editor's new patient's email is checked against its own client's patients only", async () => {
  // An unassigned patient (no client: unscoped callers only) does not make the email taken here,
  // nor does answering tell this token that such a patient exists.
  await addPatient(null, "hidden.unassigned@example.com", { firstName: "Una", lastName: "Signed" });
  const free = await call(scopedToken, "POST", "/api/v1/patients", {
    firstName: "Una",
    email: "hidden.unassigned@example.com",
  });
  expect(free.status).toBe(201);
  // Its own client's patient with that email does: a 409, as documented, not a failure.
  await addPatient(mine, "taken.here@example.com", { firstName: "Tara", lastName: "Ken" });
  const taken = await call(scopedToken, "POST", "/api/v1/patients", {
    firstName: "Tara",
    email: "taken.here@example.com",
  });
  expect([taken.status, taken.body.error?.code]).toEqual([409, "duplicate_email"]);
  // Likewise for an unscoped admin naming the client.
  const byAdmin = await call(ADMIN, "POST", "/api/v1/patients", {
    firstName: "Tara",
    email: "taken.here@example.com",
    clientId: mine,
  });
  expect([byAdmin.status, byAdmin.body.error?.code]).toEqual([409, "duplicate_email"]);
});

test("during a blind-index rebuild, a client's patient indexed under the previous key still makes its email taken there", async () => {
  // Indexed under TEST_KEYS' index key, then that key becomes the previous one of a new keyring.
  await addPatient(mine, "rebuilding@example.com", { firstName: "Rhea", lastName: "Bild" });
  const rotated: Keys = {
    data: TEST_KEYS.data,
    blindIndex: createKeyring([
      parseKeyring(newKeyText("review-index-2"), "review").current,
      ...TEST_KEYS.blindIndex.keys,
    ]),
  };
  const rebuilding = createDashboardApp({ ...appOptions(), keys: rotated });
  const res = await callApp(rebuilding, scopedToken, "POST", "/api/v1/patients", {
    firstName: "Rhea",
    email: "rebuilding@example.com",
  });
  // Not a second patient with the same email at the same client, found under the new key only.
  expect([res.status, res.body.error?.code]).toEqual([409, "duplicate_email"]);
});

test("a client-scoped admin token is refused /health/detailed (the installation's state, no client's)", async () => {
  const scopedAdmin = (
    await createToken(sql, { name: "review-admin", role: "admin", createdBy: "test", clientId: mine })
  ).token;
  const res = await call(scopedAdmin, "GET", "/health/detailed");
  // Like every route that is not scope-aware (access.ts): fail closed.
  expect([res.status, res.body.error?.code]).toEqual([403, "scope_not_supported"]);
  expect((await call(ADMIN, "GET", "/health/detailed")).status).toBe(200);
});

test("the dashboard refuses a huge body before anyone is authenticated (it parses bodies before the token check)", async () => {
  const dashboard = await startService("dashboard", {});
  try {
    // 32 MiB of JSON without a token: without a cap Bun takes up to 128 MiB, read and parsed
    // whole before the guard answers 401, so a few such requests exhaust the pod's memory.
    const body = `{"q":"${"a".repeat(32 * 1024 * 1024)}"}`;
    const answer = await fetch(`${dashboard.url}/api/v1/patients/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    }).then(
      (res) => res.status,
      () => "closed",
    );
    expect([413, "closed"]).toContain(answer);
    // A body of the size a preview takes still arrives (and is refused for its missing token).
    const small = await fetch(`${dashboard.url}/api/v1/patients/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"q":"${"a".repeat(1024 * 1024)}"}`,
    });
    expect(small.status).toBe(401);
  } finally {
    await dashboard.kill();
  }
});

// Whether a typed word is a prefix of a known word or a typo to correct is decided on the
// search's word list (patient-list.ts, knownWords). It was one list for every client, so a
// scoped token (a viewer suffices) learned whether any other client's patient had a name or
// city word starting with what it typed. Migration 021 keeps the list per client.
test("what a client-scoped token's name search finds does not depend on other clients' patients", async () => {
  const viewer = (await createToken(sql, { name: "review-viewer", role: "viewer", createdBy: "test", clientId: mine }))
    .token;
  await addPatient(mine, null, { firstName: "Ana", lastName: "Kovac" });
  const found = async () =>
    (await call(viewer, "POST", "/api/v1/patients/search", { q: "kovacz" })).body.items.map(
      (p: { fullName: string }) => p.fullName,
    );
  // A typo of its own patient's name: found through the words it resembles.
  const before = await found();
  expect(before).toEqual(["Ana Kovac"]);
  // Another client's patient whose name the typed word starts must not change that answer:
  // if it did, the answer would tell this token that such a patient exists elsewhere.
  await addPatient(other, null, { firstName: "Ivo", lastName: "Kovaczyk" });
  expect(await found()).toEqual(before);
});

test("each client's word list holds the words of its own patients: erasure and a move to another client update it", async () => {
  const words = async () =>
    (
      await sql<{ k: string; word: string }[]>`
        select client_key::text as k, word from patient_search_words
        where word in ('zebulon', 'quistorp', 'ottokar') order by client_key, word`
    ).map((r) => `${r.k === mine ? "mine" : r.k === other ? "other" : r.k}:${r.word}`);
  const a = await addPatient(mine, null, { firstName: "Zebulon", lastName: "Quistorp" });
  const b = await addPatient(other, null, { firstName: "Zebulon", lastName: "Ottokar" });
  expect((await words()).sort()).toEqual(["mine:quistorp", "mine:zebulon", "other:ottokar", "other:zebulon"]);
  // Erased: its words leave its client's list, and stay in the other client's, which still has one.
  await sql`delete from patients where id = ${a}::bigint`;
  expect((await words()).sort()).toEqual(["other:ottokar", "other:zebulon"]);
  // Moved to another client: its words move with it.
  await sql`update patients set client_id = ${mine}::bigint where id = ${b}::bigint`;
  expect((await words()).sort()).toEqual(["mine:ottokar", "mine:zebulon"]);
});

test("accepting a conflict while its patient is being erased: one waits for the other, neither deadlocks", async () => {
  const id = await addPatient(null, "lock.order@example.com", { firstName: "Lou", dateOfBirth: "1970-01-01" });
  const submission: PatientState = {
    values: { ...Object.fromEntries(MERGED_FIELDS.map((f) => [f, null])), dateOfBirth: "1971-02-03" } as never,
    answers: {},
    source: "generic",
    formId: "f1",
    lastEventId: `review-ev-${++seq}`,
    submittedAt: new Date(),
  };
  await sql.begin((tx) => insertConflicts(tx, TEST_KEYS, [{ patientId: id, fields: ["dateOfBirth"], submission }]));
  const [conflict] = await sql`select id::text from patient_conflicts where patient_id = ${id}::bigint`;
  // An erasure (or a merge) locks the patient, then its conflicts.
  const patientLocked = Promise.withResolvers<void>();
  const resolving = Promise.withResolvers<void>();
  const erasing = sql.begin(async (tx) => {
    await tx`select id from patients where id = ${id}::bigint for update`;
    patientLocked.resolve();
    await resolving.promise;
    await tx`delete from patient_conflicts where patient_id = ${id}::bigint`;
    await tx`delete from patients where id = ${id}::bigint`;
  });
  await patientLocked.promise;
  const accepting = callApp(app, ADMIN, "POST", `/api/v1/conflicts/${conflict!.id}/resolve`, { action: "accept" });
  // The accept is waiting for a lock the erasure holds.
  await waitForLockWait(sql);
  resolving.resolve();
  // Locked in the same order (the patient, then the conflict), the erasure completes and the
  // accept then finds no conflict: not a deadlock, where Postgres aborts one of them (40P01).
  await erasing;
  const answer = await accepting;
  expect([answer.status, answer.body.error?.code]).toEqual([404, "conflict_not_found"]);
});

test("a listing cursor whose position is not a time is refused 400 invalid_cursor, not a 500", async () => {
  const cursor = (k: unknown) =>
    Buffer.from(JSON.stringify({ s: "updated", d: "desc", k, id: "5" })).toString("base64url");
  for (const k of [
    "not-a-time",
    "2026-13-01T00:00:00.000000Z",
    "2026-02-31T00:00:00.000000Z",
    "0000-01-01T00:00:00.000000Z",
    12,
    undefined,
  ]) {
    const res = await call(ADMIN, "GET", `/api/v1/patients?sort=updated&cursor=${cursor(k)}`);
    expect([k, res.status, res.body.error?.code]).toEqual([k, 400, "invalid_cursor"]);
  }
  // One this API handed out still pages.
  const first = await call(ADMIN, "GET", "/api/v1/patients?sort=updated&limit=1");
  const next = await call(ADMIN, "GET", `/api/v1/patients?sort=updated&limit=1&cursor=${first.body.nextCursor}`);
  expect(next.status).toBe(200);
  expect(next.body.items[0].id).not.toBe(first.body.items[0].id);
});
