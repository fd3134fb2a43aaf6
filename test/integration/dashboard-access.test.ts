// Roles on every dashboard route (issue #10 item 5), against real Postgres and Redis with the
// dashboard app in process: the route list comes from the app itself, so a route added
// without a rule in access.ts (or without a sample request here) fails this test. Each route
// is called with no token and with database tokens of each role: 401, 403 below its rule, 2xx
// from it up. Then what viewers see (masked lists, a whole patient when opened), the caller in
// the request context (the audit trail's actor), revocation reaching a second "pod" within the cache
// TTL, expiry, and last_used_at written once a minute, not per request.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Writable } from "node:stream";
import { jetstream } from "@nats-io/jetstream";
import { headers } from "@nats-io/nats-core";
import { Elysia } from "elysia";
import { ROUTE_ROLES, ruleFor } from "../../services/dashboard/access.ts";
import { createDashboardApp } from "../../services/dashboard/app.ts";
import { bearerAuth } from "../../services/dashboard/auth.ts";
import { natsOnDemand } from "../../services/dashboard/nats-link.ts";
import { createSource, natsSourceRegistry } from "../../services/dashboard/sources.ts";
import { createTokenLookup } from "../../services/dashboard/token-lookup.ts";
import { createToken, findToken, listTokens, revokeToken, touchToken } from "../../services/dashboard/tokens.ts";
import { createAuthenticator } from "../../shared/auth/bearer.ts";
import { hasRole, ROLES, type Role } from "../../shared/auth/roles.ts";
import { createRedis } from "../../shared/cache.ts";
import type { Sql } from "../../shared/db/client.ts";
import { MERGED_FIELDS, type MergedField, type PatientState } from "../../shared/db/patient-merge.ts";
import { insertConflicts, insertPatients } from "../../shared/db/patients.ts";
import { FORM_SUBMISSIONS, sealCell, sealedColumn } from "../../shared/db/sealed.ts";
import { setReasonHeaders } from "../../shared/dead-letters.ts";
import { createLogger } from "../../shared/logger.ts";
import { createMetrics } from "../../shared/metrics.ts";
import { connectNats, dlqSubject, H, provisionJetStream } from "../../shared/nats.ts";
import { loadSources } from "../../shared/sources/index.ts";
import { TEST_KEYS } from "../keys.ts";
import { freshDatabase, type NatsServer, ROOT, startNats, waitFor } from "./harness.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1";
const EMAIL = "ada.access@example.com";
const log = createLogger("dashboard", "silent", new Writable({ write: (_c, _e, done) => done() }));

let sql: Sql;
let redis: ReturnType<typeof createRedis>;
let patientId: string;
/** A second patient, for the one erasure the admin is allowed. */
let erasableId: string;
const conflictIds: string[] = [];
/** Patients merged into patientId, one for each caller allowed to merge. */
const mergeIds: string[] = [];
/** A client and its runtime source, for the clients and sources routes. */
let clientId: string;
const RUNTIME_SOURCE = "access-clinic-generic";
let nats: NatsServer;
/** The dashboard's NATS link, and the dead letter the admin's replay call replays. */
let natsLink: ReturnType<typeof natsOnDemand>;
let deadLetterSeq: number;
let registry: ReturnType<typeof natsSourceRegistry>;
const tokens = {} as Record<Role, { token: string; id: string }>;

/** A submission's state as the projector holds it: every merged field, null unless given. */
function submission(eventId: string, values: Partial<Record<MergedField, string>>): PatientState {
  const all = Object.fromEntries(MERGED_FIELDS.map((f) => [f, values[f] ?? null])) as PatientState["values"];
  return {
    values: all,
    answers: { Symptoms: "a cough since March" },
    source: "generic",
    formId: "f1",
    lastEventId: eventId,
    submittedAt: new Date(),
  };
}

const newApp = () =>
  createDashboardApp({
    sql,
    keys: TEST_KEYS,
    redis,
    sources: loadSources(join(ROOT, "ops/dev/sources.yaml"), { HOOKLINE_ENV: "development" }),
    apiTokens: "env-admin-token-0123456789=admin",
    cacheTtlSeconds: 30,
    log,
    metrics: createMetrics("dashboard"),
    readiness: {},
    clients: { registry },
    nats: natsLink,
  });
let app: ReturnType<typeof newApp>;

beforeAll(async () => {
  sql = await freshDatabase();
  redis = createRedis(REDIS_URL, "hookline-test", log);
  await waitFor("redis", async () => (await redis.ping()) === "PONG");
  await redis.flushdb();
  // Clients first: the cascade empties what references them (patients, tokens, ...).
  await sql`truncate clients, sources restart identity cascade`;
  await sql`truncate dashboard_tokens`;
  // Through the projector's own writes: sealed at rest, email and phone blind-indexed.
  await sql.begin(async (tx) => {
    const [p] = await insertPatients(
      tx,
      TEST_KEYS,
      [
        {
          email: EMAIL,
          state: submission("ev-a1", {
            firstName: "Ada",
            lastName: "Lovelace",
            fullName: "Ada Lovelace",
            phone: "+4917612345678",
            dateOfBirth: "1815-12-10",
            street: "Baker Street 221b",
            postalCode: "NW1 6XE",
            city: "London",
          }),
        },
      ],
      false,
    );
    patientId = p!.id;
    const [e] = await insertPatients(
      tx,
      TEST_KEYS,
      [{ email: "erase.access@example.com", state: submission("ev-e1", { lastName: "Erasable" }) }],
      false,
    );
    erasableId = e!.id;
    const merged = await insertPatients(
      tx,
      TEST_KEYS,
      [0, 1, 2].map((i) => ({ email: null, state: submission(`ev-m${i}`, { lastName: "Mergeable" }) })),
      false,
    );
    mergeIds.push(...merged.map((m) => m.id));
    // One open conflict for each caller allowed to resolve one (editor, admin) and one to list.
    const conflicting = [0, 1, 2].map((i) => ({
      patientId,
      fields: ["firstName" as const],
      submission: submission(`ev-c${i}`, { firstName: "Eve", phone: "+4930999999", dateOfBirth: "1990-01-02" }),
    }));
    await insertConflicts(tx, TEST_KEYS, conflicting);
    const answers = [
      { label: "E-Mail", value: EMAIL },
      { label: "Symptoms", value: "a cough since March" },
    ];
    const sealed = sealCell(TEST_KEYS, sealedColumn(FORM_SUBMISSIONS, "answers_enc"), answers);
    await tx`
      insert into form_submissions (event_id, source, form_id, patient_id, submitted_at, answers_enc)
      values ('ev-a1', 'generic', 'f1', ${patientId}, now(), ${sealed})`;
  });
  const [{ n }] = (await sql`select count(*)::int as n from patient_conflicts`) as unknown as [{ n: number }];
  expect(n).toBe(3);
  await sql`insert into form_questions (source, form_id, label, answers_count) values ('generic', 'f1', 'Symptoms', 1)`;
  conflictIds.push(...(await sql`select id from patient_conflicts order by id`).map((r) => String(r.id)));
  nats = await startNats();
  natsLink = natsOnDemand(() => connectNats(nats.url, "hookline-test", log));
  const nc = await natsLink.get();
  await provisionJetStream(nc);
  const dead = headers();
  dead.set(H.source, "generic");
  dead.set(H.eventId, "ev-dead-1");
  setReasonHeaders(dead, { code: "unparseable_body", reason: "not JSON", originalSubject: "webhooks.generic" });
  deadLetterSeq = (await jetstream(nc).publish(dlqSubject("ingress", "generic"), "{not json", { headers: dead })).seq;
  registry = natsSourceRegistry(() => connectNats(nats.url, "hookline-test", log));
  [{ id: clientId }] =
    (await sql`insert into clients (name) values ('Access Clinic') returning id::text`) as unknown as [{ id: string }];
  await sql.begin((tx) =>
    createSource(
      tx,
      { keyring: TEST_KEYS.data, registry, fileSources: new Set() },
      { name: RUNTIME_SOURCE, type: "generic", clientId },
    ),
  );
  for (const role of ROLES) {
    const { token, record } = await createToken(sql, { name: `test-${role}`, role, createdBy: "test" });
    tokens[role] = { token, id: record.id };
  }
  app = newApp();
});

afterAll(async () => {
  await registry?.close();
  await natsLink?.close();
  await nats?.dispose();
  redis?.disconnect();
  await sql?.end();
});

const call = (a: typeof app, method: string, path: string, token?: string, body?: unknown) =>
  a.handle(
    new Request(`http://dashboard.test${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );

// Served to anyone: the page, the API description, health and metrics.
const PUBLIC = [
  "GET /",
  "GET /app.js",
  "GET /app.css",
  "GET /favicon.ico",
  "GET /openapi.json",
  "GET /docs",
  "GET /health/live",
  "GET /health/ready",
  "GET /metrics",
  // The page's OIDC sign-in settings (null here: no OIDC_CLIENT_ID): asked before anyone signed in.
  "GET /api/v1/auth/config",
];

/**
 * Each ruled route: the role this test expects it to need (the policy, pinned here on purpose:
 * viewer reads, editor changes patient data, admin the rest), and a request it answers with 2xx
 * once the caller may use it (`n`: the how-manieth such call).
 */
const ROUTES: { [K in keyof typeof ROUTE_ROLES]: [Role, (n: number) => { path: string; body?: unknown }] } = {
  "GET /api/v1/patients": ["viewer", () => ({ path: `/api/v1/patients?q=${EMAIL}` })],
  "POST /api/v1/patients/search": ["viewer", () => ({ path: "/api/v1/patients/search", body: { q: "Lovelace" } })],
  "GET /api/v1/patients/:id": ["viewer", () => ({ path: `/api/v1/patients/${patientId}` })],
  "DELETE /api/v1/patients/:id": ["admin", () => ({ path: `/api/v1/patients/${erasableId}` })],
  "POST /api/v1/patients": [
    "editor",
    (n) => ({
      path: "/api/v1/patients",
      body: { firstName: "Hand", lastName: `Made${n}`, email: `hand${n}@example.com` },
    }),
  ],
  "PATCH /api/v1/patients/:id": [
    "editor",
    // The city it already has: the masked-list test below reads the patient as seeded.
    () => ({ path: `/api/v1/patients/${patientId}`, body: { city: "London" } }),
  ],
  "POST /api/v1/patients/:id/merge": [
    "editor",
    (n) => ({ path: `/api/v1/patients/${patientId}/merge`, body: { from: mergeIds[n] } }),
  ],
  "GET /api/v1/patients/:id/conflicts": ["viewer", () => ({ path: `/api/v1/patients/${patientId}/conflicts` })],
  "GET /api/v1/conflicts": ["viewer", () => ({ path: "/api/v1/conflicts" })],
  "POST /api/v1/conflicts/:id/resolve": [
    "editor",
    (n) => ({ path: `/api/v1/conflicts/${conflictIds[n]}/resolve`, body: { action: "dismiss" } }),
  ],
  "GET /api/v1/forms": ["viewer", () => ({ path: "/api/v1/forms" })],
  "GET /api/v1/forms/:source/:formId/questions": ["viewer", () => ({ path: "/api/v1/forms/generic/f1/questions" })],
  "GET /api/v1/forms/:source/:formId/submissions": ["viewer", () => ({ path: "/api/v1/forms/generic/f1/submissions" })],
  "GET /api/v1/events": ["admin", () => ({ path: "/api/v1/events" })],
  "POST /v1/sources/:source/preview": [
    "admin",
    () => ({ path: "/v1/sources/generic/preview", body: { data: { Email: EMAIL } } }),
  ],
  "GET /health/detailed": ["admin", () => ({ path: "/health/detailed" })],
  "GET /api/v1/forms/:source/:formId/mappings": ["viewer", () => ({ path: "/api/v1/forms/generic/f1/mappings" })],
  "PUT /api/v1/forms/:source/:formId/mappings": [
    "editor",
    (n) => ({ path: "/api/v1/forms/generic/f1/mappings", body: { changes: { [`Question ${n}`]: "ignore" } } }),
  ],
  "POST /api/v1/forms/:source/:formId/mappings/preview": [
    "editor",
    () => ({ path: "/api/v1/forms/generic/f1/mappings/preview", body: { changes: { Email: "ignore" } } }),
  ],
  "GET /api/v1/forms/:source/:formId/review": ["viewer", () => ({ path: "/api/v1/forms/generic/f1/review" })],
  "GET /api/v1/stats": ["viewer", () => ({ path: "/api/v1/stats" })],
  "GET /api/v1/dead-letters": ["admin", () => ({ path: "/api/v1/dead-letters" })],
  "POST /api/v1/dead-letters/:seq/replay": ["admin", () => ({ path: `/api/v1/dead-letters/${deadLetterSeq}/replay` })],
  "GET /api/v1/clients": ["viewer", () => ({ path: "/api/v1/clients" })],
  "POST /api/v1/clients": [
    "admin",
    (n) => ({ path: "/api/v1/clients", body: { name: `Role Clinic ${n}`, sourceType: "typeform" } }),
  ],
  "POST /api/v1/clients/:id/sources": [
    "admin",
    () => ({ path: `/api/v1/clients/${clientId}/sources`, body: { sourceType: "heyflow" } }),
  ],
  "GET /api/v1/sources": ["viewer", () => ({ path: "/api/v1/sources" })],
  "GET /api/v1/auth/me": ["viewer", () => ({ path: "/api/v1/auth/me" })],
  "POST /api/v1/sources/:name/rotate-secret": [
    "admin",
    () => ({ path: `/api/v1/sources/${RUNTIME_SOURCE}/rotate-secret` }),
  ],
  "POST /api/v1/sources/:name/disable": ["admin", () => ({ path: `/api/v1/sources/${RUNTIME_SOURCE}/disable` })],
  "POST /api/v1/sources/:name/enable": ["admin", () => ({ path: `/api/v1/sources/${RUNTIME_SOURCE}/enable` })],
};

test("every route of the app: public, or 401 without a token, 403 below its role, 2xx from its role up", async () => {
  const routes = app.routes.map((r) => `${r.method} ${r.path}`);
  expect(routes.length).toBeGreaterThan(PUBLIC.length);
  const seen: string[] = [];
  for (const route of routes) {
    const [method, path] = route.split(" ") as [string, string];
    if (PUBLIC.includes(route)) {
      const res = await call(app, method, path);
      seen.push(`${route} none ${res.status < 300 ? "2xx" : res.status}`);
      continue;
    }
    const entry = ROUTES[route as keyof typeof ROUTES];
    // A new route: give it a rule in ROUTE_ROLES and an entry here, or list it as public.
    expect({ route, rule: ruleFor(method, path), entry: Boolean(entry) }).toEqual({
      route,
      rule: entry?.[0],
      entry: true,
    });
    const [needed, sample] = entry;
    let allowed = 0;
    for (const caller of ["none", ...ROLES] as const) {
      const { path: url, body } = sample(allowed);
      const res = await call(app, method, url, caller === "none" ? undefined : tokens[caller].token, body);
      const expected = caller === "none" ? 401 : hasRole(caller, needed) ? "2xx" : 403;
      if (expected === "2xx") allowed++;
      const got = res.status >= 200 && res.status < 300 ? "2xx" : res.status;
      seen.push(
        got === expected ? `${route} ${caller} ${got}` : `${route} ${caller}: ${res.status} ${await res.text()}`,
      );
    }
  }
  // Every public route answered 2xx, every ruled route as its role says (each line names a failure).
  expect(seen.filter((line) => !/ (2xx|401|403)$/.test(line))).toEqual([]);
  expect(
    seen
      .filter((l) => l.endsWith(" none 2xx"))
      .map((l) => l.split(" none")[0])
      .sort(),
  ).toEqual([...PUBLIC].sort());
  // And every rule is for a route the app serves (no stale rules).
  expect(Object.keys(ROUTE_ROLES).filter((k) => !routes.includes(k))).toEqual([]);
});

test("viewers see patient data masked in lists and whole when they open a patient; editors see lists whole", async () => {
  const list = async (role: Role) =>
    (await (await call(app, "POST", "/api/v1/patients/search", tokens[role].token, { q: EMAIL })).json()).items;
  const [masked] = await list("viewer");
  expect(masked).toMatchObject({
    id: patientId,
    fullName: "Ada Lovelace",
    email: "a***@example.com",
    phone: "***78",
    dateOfBirth: "1815",
    street: "***",
    postalCode: "***",
    city: "London",
  });
  // A listing leaves answers out for every role (the detail has them).
  expect(masked).not.toHaveProperty("answers");
  expect(JSON.stringify(masked)).not.toContain("cough");
  const [whole] = await list("editor");
  expect(whole).toMatchObject({ email: EMAIL, phone: "+4917612345678", dateOfBirth: "1815-12-10" });

  // GET with ?q= finds the same (kept for existing clients), masked alike.
  const viaGet = await (await call(app, "GET", `/api/v1/patients?q=${EMAIL}`, tokens.viewer.token)).json();
  expect(viaGet.items).toEqual([masked]);

  const conflicts = await (await call(app, "GET", "/api/v1/conflicts?status=open", tokens.viewer.token)).json();
  expect(conflicts.items.length).toBeGreaterThan(0);
  for (const c of conflicts.items)
    expect(c.submission).toMatchObject({ phone: "***99", dateOfBirth: "1990", answers: { Symptoms: "***" } });
  const submissions = await (
    await call(app, "GET", "/api/v1/forms/generic/f1/submissions", tokens.viewer.token)
  ).json();
  expect(submissions.items[0].answers).toEqual({ "E-Mail": "***", Symptoms: "***" });
  const one = await (
    await call(app, "GET", "/api/v1/forms/generic/f1/submissions?question=Symptoms", tokens.viewer.token)
  ).json();
  expect(one.items[0].value).toBe("***");

  const opened = await (await call(app, "GET", `/api/v1/patients/${patientId}`, tokens.viewer.token)).json();
  expect(opened).toMatchObject({ email: EMAIL, phone: "+4917612345678", street: "Baker Street 221b" });
});

test("the caller is in the request context as principal: token:<id>, its name and role (the audit trail's actor)", async () => {
  const authenticate = createAuthenticator({
    apiTokens: "env-a-0123456789=admin,env-b-0123456789=viewer",
    dbTokens: createTokenLookup({ find: (d) => findToken(sql, d), touch: (id) => touchToken(sql, id), log }),
    log,
  });
  // A ruled route, answering with what the guard put in the context.
  const probe = new Elysia().use(bearerAuth(authenticate)).get("/api/v1/forms", ({ principal }) => principal);
  const principal = async (token: string) =>
    (
      await probe.handle(
        new Request("http://dashboard.test/api/v1/forms", { headers: { authorization: `Bearer ${token}` } }),
      )
    ).json();
  expect(await principal(tokens.editor.token)).toEqual({
    id: `token:${tokens.editor.id}`,
    name: "test-editor",
    role: "editor",
    clientId: null,
  });
  expect(await principal("env-b-0123456789")).toEqual({ id: "env:2", name: "DASHBOARD_API_TOKENS #2", role: "viewer" });
});

test("opening a patient is in the audit trail under the token's id", async () => {
  const res = await call(app, "GET", `/api/v1/patients/${patientId}`, tokens.viewer.token);
  expect(res.status).toBe(200);
  const [row] = await sql`
    select actor, action, entity_id from audit_log where action = 'patient.read' order by seq desc limit 1`;
  expect(row).toEqual({ actor: `token:${tokens.viewer.id}`, action: "patient.read", entity_id: patientId });
});

test("a search term sent with POST is answered like GET's, and a bad body is a 400", async () => {
  const post = await call(app, "POST", "/api/v1/patients/search", tokens.editor.token, { q: EMAIL, limit: 1 });
  expect((await post.json()).items.map((p: { id: string }) => p.id)).toEqual([patientId]);
  for (const body of [[], "q", { q: 5 }, { limit: 0 }, { cursor: "bogus" }])
    expect((await call(app, "POST", "/api/v1/patients/search", tokens.editor.token, body)).status).toBe(400);
});

test("a revoked token is refused by every pod within the cache's TTL (5 s)", async () => {
  const { token, record } = await createToken(sql, { name: "revoke-me", role: "viewer", createdBy: "test" });
  const pods = [newApp(), newApp()];
  for (const pod of pods) expect((await call(pod, "GET", "/api/v1/forms", token)).status).toBe(200);
  const revokedAt = Date.now();
  expect(await revokeToken(sql, record.name)).toMatchObject({ already: false });
  for (const pod of pods)
    await waitFor("revocation", async () => (await call(pod, "GET", "/api/v1/forms", token)).status === 401, 15_000);
  // Generous: the TTL is 5 s; this bounds it, not the machine's speed.
  expect(Date.now() - revokedAt).toBeLessThan(12_000);
});

test("an expired token is refused", async () => {
  const { token } = await createToken(sql, {
    name: "short-lived",
    role: "viewer",
    createdBy: "test",
    expiresInMs: 1_500,
  });
  expect((await call(app, "GET", "/api/v1/forms", token)).status).toBe(200);
  await waitFor("expiry", async () => (await call(app, "GET", "/api/v1/forms", token)).status === 401, 10_000);
});

test("last_used_at is written on first use and not again on every request", async () => {
  const { token, record } = await createToken(sql, { name: "used", role: "viewer", createdBy: "test" });
  const pod = newApp();
  expect((await call(pod, "GET", "/api/v1/forms", token)).status).toBe(200);
  const first = await waitFor("last_used_at", async () => {
    const [r] = await sql`select last_used_at, xmin::text from dashboard_tokens where id = ${record.id}`;
    return r!.last_used_at ? r! : undefined;
  });
  for (let i = 0; i < 20; i++) expect((await call(newApp(), "GET", "/api/v1/forms", token)).status).toBe(200);
  await Bun.sleep(200);
  // The row was not rewritten: the same version (xmin), the same time, though 20 more requests came
  // through 20 fresh pods (whose own throttles know nothing yet: the database's guard held).
  const [after] = await sql`select last_used_at, xmin::text from dashboard_tokens where id = ${record.id}`;
  expect(after).toEqual(first);
});

test("listing tokens never shows a token or its digest", async () => {
  const listed = await listTokens(sql);
  expect(listed.length).toBeGreaterThanOrEqual(3);
  const text = JSON.stringify(listed);
  for (const { token } of Object.values(tokens)) expect(text).not.toContain(token);
  for (const t of listed)
    expect(Object.keys(t).sort()).toEqual([
      "clientId",
      "createdAt",
      "createdBy",
      "expiresAt",
      "id",
      "lastUsedAt",
      "name",
      "revokedAt",
      "role",
    ]);
});
