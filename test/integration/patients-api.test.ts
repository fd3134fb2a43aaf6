// The patient routes (issue #11 item 2) against real Postgres and Redis, the dashboard app in
// process: keyset pages stable under inserts, filters and sorts, ranked search with prefixes,
// typos and accents, exact email and phone through their blind indexes, one patient with its
// timeline and field origins, adding by hand (validated like a webhook, duplicate warning),
// editing (cache invalidated, origin "manual"), merging (audited), validation errors, Redis
// down, and the OpenAPI document and /docs generated from the routes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Writable } from "node:stream";
import { ruleFor } from "../../services/dashboard/access.ts";
import { createDashboardApp } from "../../services/dashboard/app.ts";
import { createToken } from "../../services/dashboard/tokens.ts";
import { createRedis } from "../../shared/cache.ts";
import type { Sql } from "../../shared/db/client.ts";
import { MERGED_FIELDS, type MergedField, type PatientState } from "../../shared/db/patient-merge.ts";
import { insertPatients } from "../../shared/db/patients.ts";
import {
  CANONICAL_FORM,
  FORM_SUBMISSIONS,
  PACKED_PATIENT_FIELDS,
  sealCell,
  sealedColumn,
  sealPacked,
} from "../../shared/db/sealed.ts";
import { createLogger } from "../../shared/logger.ts";
import { createMetrics } from "../../shared/metrics.ts";
import { loadSources } from "../../shared/sources/index.ts";
import { TEST_KEYS } from "../keys.ts";
import { callApp } from "./app-call.ts";
import { freshDatabase, ROOT, waitFor } from "./harness.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1";
const log = createLogger("dashboard", "silent", new Writable({ write: (_c, _e, done) => done() }));
const TOKENS = {
  admin: "patients-admin-token-0123456789",
  editor: "patients-editor-token-0123456789",
  viewer: "patients-viewer-token-0123456789",
};

let sql: Sql;
let redis: ReturnType<typeof createRedis>;

const newApp = (r = redis) =>
  createDashboardApp({
    sql,
    keys: TEST_KEYS,
    redis: r,
    sources: loadSources(join(ROOT, "ops/dev/sources.yaml"), { HOOKLINE_ENV: "development" }),
    apiTokens: `${TOKENS.admin}=admin,${TOKENS.editor}=editor,${TOKENS.viewer}=viewer`,
    cacheTtlSeconds: 60,
    log,
    metrics: createMetrics("dashboard"),
    readiness: {},
  });
let app: ReturnType<typeof newApp>;

async function call(method: string, path: string, body?: unknown, role: keyof typeof TOKENS = "admin", a = app) {
  const res = await a.handle(
    new Request(`http://dashboard.test${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKENS[role]}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
const search = (q: string, extra: Record<string, unknown> = {}) =>
  call("POST", "/api/v1/patients/search", { q, ...extra });
const names = (items: { fullName: string }[]) => items.map((p) => p.fullName);

function state(eventId: string, values: Partial<Record<MergedField, string>>, submittedAt = new Date()): PatientState {
  const all = Object.fromEntries(MERGED_FIELDS.map((f) => [f, values[f] ?? null])) as PatientState["values"];
  if (values.firstName || values.lastName) all.fullName = [values.firstName, values.lastName].filter(Boolean).join(" ");
  return {
    values: all,
    answers: { Vorname: values.firstName ?? null },
    source: "generic",
    formId: "f1",
    lastEventId: eventId,
    submittedAt,
  };
}

let seq = 0;
/** Patients written as the projector writes them (sealed, blind-indexed); their ids in order. */
async function addPatients(rows: { email?: string; values: Partial<Record<MergedField, string>>; source?: string }[]) {
  return sql.begin(async (tx) => {
    const out = await insertPatients(
      tx,
      TEST_KEYS,
      rows.map((r) => ({
        email: r.email ?? null,
        state: { ...state(`ev-${++seq}`, r.values), source: r.source ?? "generic" },
      })),
      false,
    );
    return out.map((r) => r.id);
  });
}

beforeAll(async () => {
  sql = await freshDatabase();
  await sql`truncate patient_search_words`;
  redis = createRedis(REDIS_URL, "hookline-test", log);
  await waitFor("redis", async () => (await redis.ping()) === "PONG");
  await redis.flushdb();
  app = newApp();
  await addPatients([
    {
      email: "anna.schmidt@example.com",
      values: { firstName: "Anna", lastName: "Schmidt", city: "Berlin", phone: "+491701234567" },
    },
    { email: "anna.schmidtke@example.com", values: { firstName: "Anna", lastName: "Schmidtke", city: "Köln" } },
    {
      email: "hans.schmidt@example.com",
      values: { firstName: "Hans", lastName: "Schmidt", city: "Hamburg" },
      source: "typeform",
    },
    { email: "juergen.mueller@example.com", values: { firstName: "Jürgen", lastName: "Müller", city: "München" } },
    { email: "zoe@example.com", values: { firstName: "Zoë", lastName: "Weiß", city: "Düsseldorf" } },
    { email: "soren@example.com", values: { firstName: "Søren", lastName: "Ødegård", city: "Oslo" } },
    { email: "muller.plain@example.com", values: { firstName: "Karl", lastName: "Muller", city: "Bern" } },
  ]);
});

afterAll(async () => {
  redis?.disconnect();
  await sql?.end();
});

test("search ranks the closest name first, finds word prefixes, and folds accents both ways", async () => {
  const exact = await search("anna schmidt");
  expect(exact.status).toBe(200);
  expect(names(exact.body.items)[0]).toBe("Anna Schmidt");
  expect(names(exact.body.items)).toContain("Anna Schmidtke");
  expect(names(exact.body.items)).not.toContain("Hans Schmidt");
  expect(names((await search("schmi")).body.items).sort()).toEqual(["Anna Schmidt", "Anna Schmidtke", "Hans Schmidt"]);
  // Stored with umlauts, typed without; stored plain, typed with; case aside.
  expect(names((await search("jurgen muller")).body.items)[0]).toBe("Jürgen Müller");
  expect(names((await search("MÜLLER")).body.items).sort()).toEqual(["Jürgen Müller", "Karl Muller"]);
  expect(names((await search("weiss")).body.items)).toEqual(["Zoë Weiß"]);
  expect(names((await search("odegard soren")).body.items)).toEqual(["Søren Ødegård"]);
  // The city is searched too.
  expect(names((await search("dusseldorf")).body.items)).toEqual(["Zoë Weiß"]);
});

test("whole words rank first, then some whole words, then the shorter text", async () => {
  await addPatients([
    { values: { firstName: "Greta", lastName: "Lindqvistova", city: "Ulm" } },
    { values: { firstName: "Greta", lastName: "Lindqvist", city: "Frankfurt am Main" } },
    { values: { firstName: "Gretana", lastName: "Lindqvist", city: "Ulm" } },
  ]);
  // Every word whole, though its text is the longest.
  expect(names((await search("greta lindqvist")).body.items)).toEqual([
    "Greta Lindqvist",
    "Gretana Lindqvist",
    "Greta Lindqvistova",
  ]);
  expect(names((await search("Lindqvist")).body.items)).toEqual([
    "Gretana Lindqvist",
    "Greta Lindqvist",
    "Greta Lindqvistova",
  ]);
  // "greta" whole, "lindq" a prefix: the two Gretas by length, then Gretana (no whole word).
  expect(names((await search("greta lindq")).body.items)).toEqual([
    "Greta Lindqvistova",
    "Greta Lindqvist",
    "Gretana Lindqvist",
  ]);
});

test("a listed or searched patient leaves out its answers; its detail has them", async () => {
  const [listed] = (await search("anna schmidt")).body.items;
  expect(listed.fullName).toBe("Anna Schmidt");
  expect(listed).not.toHaveProperty("answers");
  expect((await call("GET", "/api/v1/patients?limit=1")).body.items[0]).not.toHaveProperty("answers");
  expect((await call("GET", `/api/v1/patients/${listed.id}`)).body.answers).toEqual({ Vorname: "Anna" });
});

test("a typo finds the name it resembles", async () => {
  expect(names((await search("Shmidt")).body.items)).toContain("Hans Schmidt");
  expect(names((await search("anna shmidt")).body.items)[0]).toBe("Anna Schmidt");
  expect(names((await search("Jürgen Mueler")).body.items)[0]).toBe("Jürgen Müller");
  expect((await search("qqqqzzzz")).body.items).toEqual([]);
});

test("email and phone are found by exact value (sealed: through their blind indexes), not by part", async () => {
  expect(names((await search("ANNA.Schmidt@Example.com")).body.items)).toEqual(["Anna Schmidt"]);
  expect(names((await call("GET", "/api/v1/patients?q=hans.schmidt%40example.com")).body.items)).toEqual([
    "Hans Schmidt",
  ]);
  expect((await search("anna.schmidt@")).body.items).toEqual([]);
  expect(names((await search("0170 1234567")).body.items)).toEqual(["Anna Schmidt"]);
  expect(names((await search("+49 170 123 45 67")).body.items)).toEqual(["Anna Schmidt"]);
});

test("filters and sorts: source, name order, and a cursor of one sort refused by another", async () => {
  expect(names((await call("GET", "/api/v1/patients?source=typeform")).body.items)).toEqual(["Hans Schmidt"]);
  const byName = await call("GET", "/api/v1/patients?sort=name&limit=3");
  // By last name with case and accents folded (Müller between Meyer and Myers).
  const lastNames = byName.body.items.map((p: { lastName: string }) =>
    p.lastName.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase(),
  );
  expect(lastNames).toEqual([...lastNames].sort());
  const other = await call("GET", `/api/v1/patients?sort=submitted&cursor=${byName.body.nextCursor}`);
  expect([other.status, other.body.error.code]).toEqual([400, "invalid_cursor"]);
  const future = await call("GET", "/api/v1/patients?from=2999-01-01T00:00:00Z");
  expect(future.body.items).toEqual([]);
});

test("keyset pages stay stable under inserts: no patient twice, none skipped, in every sort", async () => {
  for (const sort of ["created", "submitted", "name", "updated"]) {
    const before = (await call("GET", `/api/v1/patients?sort=${sort}&limit=500`)).body.items.map(
      (p: { id: string }) => p.id,
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: { id: string }[]; nextCursor: string | null } } = (await call(
        "GET",
        `/api/v1/patients?sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      )) as never;
      seen.push(...res.body.items.map((p) => p.id));
      cursor = res.body.nextCursor;
      // Others arrive while the pages are read.
      await addPatients([{ values: { firstName: "New", lastName: `Aaron${seq}` } }]);
    } while (cursor);
    const original = seen.filter((id) => before.includes(id));
    expect([sort, new Set(seen).size]).toEqual([sort, seen.length]);
    expect([sort, original]).toEqual([sort, before]);
  }
  // Search pages too (score, id).
  const all: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await search("schmidt", { limit: 1, ...(cursor ? { cursor } : {}) });
    all.push(...res.body.items.map((p: { id: string }) => p.id));
    cursor = res.body.nextCursor;
    await addPatients([{ values: { firstName: "Otto", lastName: "Schmidt" } }]);
  } while (cursor && all.length < 20);
  expect(new Set(all).size).toBe(all.length);
});

test("under forced row-level security, each sort's keyset condition is still an index condition", async () => {
  // Postgres applies a query's conditions after the policy's unless they are leakproof: a
  // condition on an expression (lower(last_name)) never is, and scanned 1M rows for a later page.
  for (const [key, value] of [
    ["sort_name", "'m'::text"],
    ["submitted_at", "now()"],
    ["updated_at", "now()"],
  ]) {
    const plan = await sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      return tx.unsafe(
        `explain select id from patients where (${key}, id) > (${value}, 1::bigint) order by ${key}, id limit 5`,
      );
    });
    const text = plan.map((r) => r["QUERY PLAN"]).join("\n");
    expect([key, text]).toEqual([key, expect.stringContaining(`Index Cond: (ROW(${key}, id) >`)]);
  }
});

test("one client's listing is an index range in every sort, even in a generic plan", async () => {
  // postgres.js prepares its statements, and Postgres soon plans them once for any client: a
  // plan that walks a sort's whole index dropping other clients' rows took 1-1.5 s at 1M
  // patients for a client of 401 (migration 015).
  for (const [column, key] of [
    ["client_id", "id"],
    ["client_id", "submitted_at"],
    ["client_id", "updated_at"],
    ["client_id", "sort_name"],
  ]) {
    const plan = await sql.begin(async (tx) => {
      await tx`set local plan_cache_mode = force_generic_plan`;
      await tx`set local enable_seqscan = off`;
      await tx`set local enable_sort = off`;
      await tx.unsafe(
        `prepare listing(bigint) as select id from patients where ${column} = $1 order by ${key} desc, id desc limit 50`,
      );
      const explained = await tx.unsafe("explain execute listing(1)");
      await tx.unsafe("deallocate listing");
      return explained;
    });
    const text = plan.map((r) => r["QUERY PLAN"]).join("\n");
    expect([column, key, text]).toEqual([column, key, expect.stringContaining(`Index Cond: (${column} = $1)`)]);
  }
});

test("bad parameters are 400s with a code", async () => {
  for (const [path, code] of [
    ["/api/v1/patients?limit=0", "invalid_limit"],
    ["/api/v1/patients?limit=abc", "invalid_request"],
    ["/api/v1/patients?sort=age", "invalid_request"],
    ["/api/v1/patients?from=yesterday", "invalid_request"],
    ["/api/v1/patients?cursor=bm9wZQ", "invalid_cursor"],
    ["/api/v1/patients/abc", "invalid_id"],
  ] as const) {
    const res = await call("GET", path);
    expect([path, res.status, res.body.error?.code]).toEqual([path, 400, code]);
  }
  const bodyIsArray = await call("POST", "/api/v1/patients/search", [1]);
  expect(bodyIsArray.status).toBe(400);
});

test("viewers get lists masked; editors and admins whole", async () => {
  const masked = (await call("POST", "/api/v1/patients/search", { q: "anna.schmidt@example.com" }, "viewer")).body
    .items[0];
  expect(masked).toMatchObject({ email: "a***@example.com", firstName: "Anna" });
  const whole = (await call("POST", "/api/v1/patients/search", { q: "anna.schmidt@example.com" }, "editor")).body
    .items[0];
  expect(whole.email).toBe("anna.schmidt@example.com");
});

test("a listing shows each row as the database holds it now, whoever changed it, opened rows reused only unchanged", async () => {
  // Listed (ids and versions first, then the rows not opened yet) and searched (rows whole).
  const listed = async (id: string) =>
    ((await call("GET", "/api/v1/patients?limit=500")).body.items as { id: string }[]).find((p) => p.id === id);
  const [before] = (await search("soren@example.com")).body.items;
  expect(before).toMatchObject({ city: "Oslo", phone: null });
  expect(await listed(before.id)).toEqual(before);
  // Another process (the projector, another dashboard pod) changes the row, a sealed value too.
  const fields = sealPacked(TEST_KEYS, PACKED_PATIENT_FIELDS, { email: "soren@example.com", phone: "+4915112345678" });
  await sql`update patients set city = 'Bergen', fields_enc = ${fields} where id = ${before.id}`;
  const [after] = (await search("soren@example.com")).body.items;
  expect(after).toMatchObject({ id: before.id, city: "Bergen", phone: "+4915112345678" });
  expect((await search("soren@example.com")).body.items).toEqual([after]);
  expect(await listed(before.id)).toEqual(after);
  // A conflict is not part of the row: counted fresh on every page.
  expect(after.openConflicts).toBe(0);
});

test("one patient: its timeline of submissions with answers, and where each field came from", async () => {
  const [id] = await addPatients([
    { email: "timeline@example.com", values: { firstName: "Tina", lastName: "Line", city: "Ulm" } },
  ]);
  const at = new Date("2026-05-01T10:00:00Z");
  const canonical = {
    source: "generic",
    formId: "contact",
    submittedAt: at.toISOString(),
    patient: { firstName: "Tina", lastName: "Line", city: "Ulm", email: "timeline@example.com" },
    provenance: { city: { label: "Stadt", method: "label" } },
    answers: [],
  };
  await sql`insert into webhook_event_ids (event_id, received_at, canonical_enc)
    values ('ev-tl', ${at}, ${sealCell(TEST_KEYS, CANONICAL_FORM, canonical)})`;
  await sql`select hookline_ensure_month_partition(${at})`;
  await sql`insert into webhook_events (event_id, received_at, source, patient_id)
    values ('ev-tl', ${at}, 'generic', ${id!})`;
  await sql`insert into form_submissions (event_id, source, form_id, patient_id, submitted_at, answers_enc)
    values ('ev-tl', 'generic', 'contact', ${id!}, ${at}, ${sealCell(TEST_KEYS, sealedColumn(FORM_SUBMISSIONS, "answers_enc"), { Stadt: "Ulm" })})`;
  const res = await call("GET", `/api/v1/patients/${id}`, undefined, "viewer");
  expect(res.status).toBe(200);
  expect(res.body.timeline).toEqual([
    {
      eventId: "ev-tl",
      source: "generic",
      formId: "contact",
      submittedAt: at.toISOString(),
      status: "merged",
      answers: { Stadt: "Ulm" },
    },
  ]);
  expect(res.body.origins.city).toEqual({
    kind: "submission",
    eventId: "ev-tl",
    source: "generic",
    formId: "contact",
    submittedAt: at.toISOString(),
    label: "Stadt",
    method: "label",
  });
  expect((await call("GET", "/api/v1/patients/999999")).status).toBe(404);
});

test("adding a patient by hand: normalized like a webhook, invalid values named, duplicates refused or warned", async () => {
  const created = await call(
    "POST",
    "/api/v1/patients",
    {
      firstName: "Maria",
      lastName: "Hand",
      email: "Maria.Hand@Example.COM",
      phone: "0170 5550001",
      dateOfBirth: "15.03.1985",
      gender: "Frau",
    },
    "editor",
  );
  expect(created.status).toBe(201);
  expect(created.body.patient).toMatchObject({
    firstName: "Maria",
    lastName: "Hand",
    fullName: "Maria Hand",
    email: "maria.hand@example.com",
    phone: "+491705550001",
    dateOfBirth: "1985-03-15",
    gender: "female",
    source: "manual",
  });
  expect(created.body.patient.origins.phone.kind).toBe("manual");
  expect(created.body.warnings).toEqual([]);
  expect((await search("maria.hand@example.com")).body.items.length).toBe(1);

  const bad = await call(
    "POST",
    "/api/v1/patients",
    { firstName: "X", email: "not-an-email", dateOfBirth: "soon" },
    "editor",
  );
  expect([bad.status, bad.body.error.code]).toEqual([400, "invalid_patient"]);
  expect(bad.body.error.message).toContain("email");
  expect(bad.body.error.message).toContain("dateOfBirth");
  const unknownKey = await call("POST", "/api/v1/patients", { firstName: "X", shoeSize: "42" }, "editor");
  expect(unknownKey.status).toBe(400);
  expect((await call("POST", "/api/v1/patients", {}, "editor")).status).toBe(400);
  expect((await call("POST", "/api/v1/patients", { firstName: "V" }, "viewer")).status).toBe(403);

  const again = await call(
    "POST",
    "/api/v1/patients",
    { firstName: "Maria", email: "maria.hand@example.com" },
    "editor",
  );
  expect([again.status, again.body.error.code]).toEqual([409, "duplicate_email"]);
  const likely = await call(
    "POST",
    "/api/v1/patients",
    { firstName: "Maria", lastName: "Hand", dateOfBirth: "1985-03-15" },
    "editor",
  );
  expect(likely.status).toBe(201);
  expect(likely.body.warnings).toEqual([
    expect.objectContaining({ code: "likely_duplicate", patientIds: [created.body.patient.id] }),
  ]);
});

test("a patient's first read skips the cache; the next ones look it up, the first of them stores it", async () => {
  const [id] = await addPatients([
    { email: "cache.admission@example.com", values: { firstName: "Ada", lastName: "Mission", city: "Kiel" } },
  ]);
  // The app's Redis, counting cache lookups (the cache's one read command).
  let lookups = 0;
  const counting = new Proxy(redis, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "mgetBuffer")
        return (...args: unknown[]) => {
          lookups++;
          return value.apply(target, args);
        };
      return value.bind(target);
    },
  });
  const a = newApp(counting);
  const read = async () => (await call("GET", `/api/v1/patients/${id}`, undefined, "admin", a)).body.city;
  const entry = `hookline:patient:{${id}}:entry`;
  expect(await read()).toBe("Kiel");
  expect([lookups, await redis.exists(entry)]).toEqual([0, 0]);
  expect(await read()).toBe("Kiel");
  expect([lookups, await redis.exists(entry)]).toEqual([1, 1]);
  // Served from the cache: a change made behind its back (no invalidation) is not seen.
  await sql`update patients set city = 'Behind' where id = ${id!}::bigint`;
  expect(await read()).toBe("Kiel");
  expect(lookups).toBe(2);
});

test("editing a patient: cached copy replaced, origin manual, audited; invalid values refused", async () => {
  const [id] = await addPatients([
    { email: "edit@example.com", values: { firstName: "Ed", lastName: "Edit", city: "Kiel" } },
  ]);
  // Read twice: the second read stores it in the cache (cache-admission.ts).
  await call("GET", `/api/v1/patients/${id}`);
  expect((await call("GET", `/api/v1/patients/${id}`)).body.city).toBe("Kiel");
  const patched = await call("PATCH", `/api/v1/patients/${id}`, { city: "Lübeck", phone: "0170 5550002" }, "editor");
  expect(patched.status).toBe(200);
  expect(patched.body).toMatchObject({ city: "Lübeck", phone: "+491705550002" });
  expect(patched.body.origins.city).toMatchObject({ kind: "manual" });
  expect((await call("GET", `/api/v1/patients/${id}`)).body.city).toBe("Lübeck");
  expect(names((await search("lubeck")).body.items)).toContain("Ed Edit");
  const [audit] =
    await sql`select action, changed_fields from audit_log where entity_id = ${id!} and action = 'patient.update' order by seq desc limit 1`;
  expect(audit).toEqual({ action: "patient.update", changed_fields: ["phone", "city"] });
  const cleared = await call("PATCH", `/api/v1/patients/${id}`, { phone: null }, "editor");
  expect(cleared.body.phone).toBeNull();
  const bad = await call("PATCH", `/api/v1/patients/${id}`, { phone: "call me" }, "editor");
  expect([bad.status, bad.body.error.code]).toEqual([400, "invalid_patient"]);
  expect((await call("PATCH", `/api/v1/patients/${id}`, { city: "X" }, "viewer")).status).toBe(403);
  expect((await call("PATCH", "/api/v1/patients/999999", { city: "X" }, "editor")).status).toBe(404);
});

test("merging two patients: submissions move, the other is gone, both cached copies dropped, audited", async () => {
  const [into, from] = await addPatients([
    { email: "merge.into@example.com", values: { firstName: "Mia", lastName: "Merge" } },
    { values: { firstName: "Mia", lastName: "Merge", city: "Jena" } },
  ]);
  await sql`insert into form_submissions (event_id, source, form_id, patient_id, submitted_at, answers_enc)
    values ('ev-merge', 'generic', 'f1', ${from!}, now(), ${sealCell(TEST_KEYS, sealedColumn(FORM_SUBMISSIONS, "answers_enc"), {})})`;
  // Each read twice: cached (cache-admission.ts).
  for (const id of [into, from, into, from]) await call("GET", `/api/v1/patients/${id}`);
  // The audit log is append-only: earlier runs' entries (ids restart) are before this one.
  const [{ head }] = (await sql`select coalesce(max(seq), 0) as head from audit_log`) as unknown as [{ head: string }];
  const merged = await call("POST", `/api/v1/patients/${into}/merge`, { from }, "editor");
  expect(merged.status).toBe(200);
  expect(merged.body).toMatchObject({ id: into, email: "merge.into@example.com", city: "Jena", eventsCount: 2 });
  expect(merged.body.timeline.map((t: { eventId: string }) => t.eventId)).toContain("ev-merge");
  expect((await call("GET", `/api/v1/patients/${from}`)).status).toBe(404);
  expect((await call("GET", `/api/v1/patients/${into}`)).body.city).toBe("Jena");
  const actions =
    await sql`select action, entity_id from audit_log where seq > ${head} and action in ('patient.merge', 'patient.update') and (entity_id = ${from!} or entity_id = ${into!}) order by seq`;
  expect(actions.map((a) => `${a.action} ${a.entity_id}`)).toEqual([`patient.merge ${from}`, `patient.update ${into}`]);
  expect((await call("POST", `/api/v1/patients/${into}/merge`, { from: into }, "editor")).status).toBe(400);
  // One spelling of an id: "0<id>" is refused, not taken for another patient (merged into
  // itself, it was deleted), here and wherever an id is read.
  expect((await call("POST", `/api/v1/patients/${into}/merge`, { from: `0${into}` }, "editor")).body).toMatchObject({
    error: { code: "invalid_request" },
  });
  expect((await call("POST", `/api/v1/patients/0${into}/merge`, { from: into }, "editor")).body).toMatchObject({
    error: { code: "invalid_id" },
  });
  for (const method of ["GET", "PATCH", "DELETE"])
    expect([
      method,
      (await call(method, `/api/v1/patients/0${into}`, method === "PATCH" ? {} : undefined, "admin")).status,
    ]).toEqual([method, 400]);
  expect((await call("GET", `/api/v1/patients/${into}`)).status).toBe(200);
  // Patients of different clients are not merged (one's submissions would show to the other's tokens).
  const [client] = await sql`insert into clients (name) values (${`Merge client ${Date.now()}`}) returning id`;
  const [other] = await addPatients([{ values: { firstName: "Mia", lastName: "Other" } }]);
  await sql`update patients set client_id = ${client!.id} where id = ${other!}::bigint`;
  const refused = await call("POST", `/api/v1/patients/${into}/merge`, { from: other }, "editor");
  expect([refused.status, refused.body.error.code]).toEqual([409, "different_clients"]);
  expect((await call("GET", `/api/v1/patients/${other}`)).status).toBe(200);
  expect((await call("POST", `/api/v1/patients/${into}/merge`, { from }, "editor")).status).toBe(404);
  expect((await call("POST", `/api/v1/patients/${into}/merge`, { from }, "viewer")).status).toBe(403);
});

test("a client-scoped token searches, reads, edits and merges its client's patients only", async () => {
  await sql`truncate dashboard_tokens`;
  const [mine, other] = (
    await sql`insert into clients (name) values (${`Scoped A ${Date.now()}`}), (${`Scoped B ${Date.now()}`}) returning id`
  ).map((r) => String(r.id));
  const [a1, a2, b1] = await addPatients([
    { values: { firstName: "Clara", lastName: "Scoped" } },
    { values: { firstName: "Clara", lastName: "Scoped" } },
    { values: { firstName: "Clara", lastName: "Scoped" } },
  ]);
  await sql`update patients set client_id = ${mine!}::bigint where id in (${a1!}::bigint, ${a2!}::bigint)`;
  await sql`update patients set client_id = ${other!}::bigint where id = ${b1!}::bigint`;
  const { token } = await createToken(sql, {
    name: "scoped-editor",
    role: "editor",
    createdBy: "test",
    clientId: mine,
  });
  const scoped = (method: string, path: string, body?: unknown) => callApp(app, token, method, path, body);
  const found = await scoped("POST", "/api/v1/patients/search", { q: "clara scoped" });
  expect(found.body.items.map((p: { id: string }) => p.id).sort()).toEqual([a1, a2].sort());
  // Asking for another client's patient by id: it does not exist for this token.
  expect((await scoped("GET", `/api/v1/patients/${b1}`)).status).toBe(404);
  expect((await scoped("PATCH", `/api/v1/patients/${b1}`, { city: "X" })).status).toBe(404);
  expect((await scoped("POST", `/api/v1/patients/${a1}/merge`, { from: b1 })).status).toBe(404);
  expect((await call("GET", `/api/v1/patients/${b1}`)).body.city).toBeNull();
  expect((await scoped("PATCH", `/api/v1/patients/${a1}`, { city: "Y" })).body.city).toBe("Y");
  // A patient it adds belongs to its client, whatever the body says.
  const added = await scoped("POST", "/api/v1/patients", { firstName: "Clara", lastName: "Neu", clientId: other });
  expect(added.status).toBe(201);
  const [row] = await sql`select client_id::text as client from patients where id = ${added.body.patient.id}::bigint`;
  expect(row!.client).toBe(mine!);
});

test("with Redis down, listing, search, detail and edits still work (from Postgres)", async () => {
  const down = createRedis("redis://127.0.0.1:1/0", "hookline-test-down", log);
  const offline = newApp(down);
  try {
    const [id] = await addPatients([
      { email: "redis.down@example.com", values: { firstName: "Rita", lastName: "Down" } },
    ]);
    expect((await call("GET", "/api/v1/patients", undefined, "admin", offline)).status).toBe(200);
    expect(names((await call("POST", "/api/v1/patients/search", { q: "rita" }, "admin", offline)).body.items)).toEqual([
      "Rita Down",
    ]);
    expect((await call("GET", `/api/v1/patients/${id}`, undefined, "admin", offline)).body.firstName).toBe("Rita");
    const patched = await call("PATCH", `/api/v1/patients/${id}`, { city: "Gera" }, "admin", offline);
    expect([patched.status, patched.body.city]).toEqual([200, "Gera"]);
  } finally {
    down.disconnect();
  }
});

test("/openapi.json documents every ruled route with its role, the patient routes with their schemas; /docs shows it", async () => {
  const doc = (await (await app.handle(new Request("http://dashboard.test/openapi.json"))).json()) as {
    paths: Record<
      string,
      Record<
        string,
        { summary: string; "x-schema-declared"?: boolean; parameters: { name: string }[]; requestBody?: unknown }
      >
    >;
  };
  // Every route with an access rule (public ones, such as the page's sign-in settings, have none).
  const ruled = app.routes.filter((r) => r.method !== "HEAD" && ruleFor(r.method, r.path));
  for (const r of ruled) {
    const op = doc.paths[r.path.replace(/:(\w+)/g, "{$1}")]?.[r.method.toLowerCase()];
    expect([r.method, r.path, Boolean(op)]).toEqual([r.method, r.path, true]);
    if (r.path.startsWith("/api/v1/patients") && !r.path.endsWith("/conflicts"))
      expect([r.method, r.path, op!["x-schema-declared"]]).toEqual([r.method, r.path, undefined]);
  }
  expect(doc.paths["/api/v1/patients"]!.get!.parameters.map((p) => p.name)).toContain("q");
  expect(doc.paths["/api/v1/patients"]!.post!.requestBody).toBeDefined();
  const page = await app.handle(new Request("http://dashboard.test/docs"));
  expect(page.headers.get("content-type")).toContain("text/html");
  const html = await page.text();
  expect(html).toContain("PATCH /api/v1/patients/{id}");
  expect(html).not.toContain("<script");
});
