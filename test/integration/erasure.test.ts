// Erasure (issue #10 item 4): `hookline patients erase` and DELETE /api/v1/patients/:id (admin)
// remove a patient from patients, conflicts, submissions and raw events, its cached copy in Redis
// and what JetStream holds of it (shared/erase-streams.ts: its dead letters included), leaving an
// audit entry without its data. Afterwards neither a pg_dump (read in clear and with every sealed
// value opened), Redis nor the streams hold anything of it, while another patient remains. With
// NATS unreachable the API still erases the rows and says that the streams were not swept.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import Redis from "ioredis";
import { SEALED_TABLES } from "../../shared/db/sealed.ts";
import { DLQ_STREAM, STREAM } from "../../shared/nats.ts";
import { openRows } from "../keys.ts";
import {
  ADMIN,
  type Cluster,
  DATABASE_URL,
  devSourcesWith,
  freePort,
  postWebhook,
  publishProjectorDeadLetter,
  runCommand,
  serviceEnv,
  signGeneric,
  startCluster,
  startService,
  waitFor,
} from "./harness.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1";
let cluster: Cluster;
let redis: Redis;
beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector", "dashboard"]);
  // The ingress also accepts "clinic-x", which the projector does not know: dead letters.
  await cluster.restart("ingress", { HOOKLINE_SOURCES: devSourcesWith([{ from: "generic", id: "clinic-x" }]) });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

const n = String(Date.now()).slice(-6);
const person = (tag: string, k: number) => ({
  tag,
  email: `${tag}.${n}@example.com`,
  phone: `+49151${n}${k}`,
  lastName: `${tag[0]!.toUpperCase()}${tag.slice(1)}Surname${n}`,
  dob: `19${50 + k}-0${k}-1${k}`,
});
const gone = person("erased", 1);
const kept = person("kept", 2);
const viaApi = person("api", 3);
const offline = person("offline", 4);
const noCache = person("nocache", 5);
const phoneOnly = person("phoneonly", 6);

let seq = 0;
async function submit(
  p: ReturnType<typeof person>,
  source = "generic",
  extra: Record<string, string> = {},
  secret?: string,
) {
  const body = {
    type: "form.submitted",
    data: {
      "First name": "Test",
      "Last name": p.lastName,
      "E-Mail": p.email,
      Telefon: p.phone,
      "Date of birth": p.dob,
      ...extra,
    },
  };
  const id = `msg_erase_${n}_${seq++}`;
  // A source created at runtime reaches the ingress within seconds (503 source_unavailable until then).
  const res = await waitFor(`the webhook accepted by ${source}`, async () => {
    const r = await postWebhook(cluster.services.ingress!.url, source, signGeneric(body, id, undefined, secret));
    return r.status === 503 ? undefined : r;
  });
  expect(res.status).toBe(200);
  return id;
}

const api = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${cluster.services.dashboard!.url}${path}`, {
    ...init,
    headers: { ...ADMIN, "content-type": "application/json", ...init.headers },
  });
  return { status: res.status, body: (await res.json()) as any };
};
const search = async (q: string) =>
  (await api("/api/v1/patients/search", { method: "POST", body: JSON.stringify({ q }) })).body.items as any[];

/** The values of `p` found in `text` (each in clear: a sealed value is opened before the search). */
const traces = (text: string, p: ReturnType<typeof person>) =>
  [p.email, p.phone, p.lastName, p.dob].filter((v) => text.toLowerCase().includes(v.toLowerCase()));

function pgDump(): string {
  const base = "/usr/lib/postgresql";
  const version = readdirSync(base)
    .filter((v) => Bun.file(join(base, v, "bin", "pg_dump")).size > 0)
    .sort((a, b) => Number(a) - Number(b))
    .pop()!;
  // Row-level security is forced on the patient tables (migration 011): without
  // --enable-row-security pg_dump stops at the first of them (an unscoped reader sees every row).
  const p = Bun.spawnSync(
    [join(base, version, "bin", "pg_dump"), "--no-owner", "--enable-row-security", `--dbname=${DATABASE_URL}`],
    { stdout: "pipe", stderr: "pipe" },
  );
  // A failed dump would hold nothing of anyone: every "no trace" below would pass.
  if (p.exitCode !== 0) throw new Error(`pg_dump failed: ${p.stderr.toString()}`);
  return p.stdout.toString();
}

/** Every sealed value of every table, opened, with every other column: the database as the keys can read it. */
async function openedDatabase(): Promise<string> {
  const tables = await Promise.all(SEALED_TABLES.map((t) => openRows(cluster.sql, t)));
  return JSON.stringify(tables);
}

/** The bodies of every message `stream` stores. */
async function streamBodies(stream: string): Promise<string[]> {
  const nc = await connect({ servers: cluster.nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    const bodies: string[] = [];
    for (let s = info.state.first_seq; s <= info.state.last_seq && info.state.messages > 0; s++) {
      const m = await jsm.streams.getMessage(stream, { seq: s }).catch(() => null);
      if (m) bodies.push(new TextDecoder().decode(m.data));
    }
    return bodies;
  } finally {
    await nc.close();
  }
}
const deadLetterBodies = () => streamBodies(DLQ_STREAM);

/** What of `p` any Redis key holds (each key's DUMP, read as bytes). */
async function redisTraces(p: ReturnType<typeof person>): Promise<string[]> {
  const found: string[] = [];
  for (const key of await redis.keys("*")) {
    const dump = await redis.dumpBuffer(key);
    if (dump) found.push(...traces(dump.toString("latin1"), p));
  }
  return found;
}

test("hookline patients erase: no trace in Postgres, Redis or JetStream; the other patient stays; audited without data", async () => {
  // Each projected before the next: batches commit concurrently, and two submissions in the
  // same second have no order of their own, so the contradicting one could be stored first
  // (and the other two become its conflicts).
  const projected = (events: number) =>
    waitFor(
      `${events} event(s) of the patient projected`,
      async () => (await search(gone.email))[0]?.eventsCount === events,
    );
  const firstId = await submit(gone);
  await projected(1);
  await submit(gone, "generic", { Ort: "Hamburg" }); // an update
  await projected(2);
  await submit({ ...gone, dob: "1999-09-09" }); // contradicts the date of birth: a conflict
  await submit(gone, "clinic-x"); // a dead letter naming it
  await submit(kept);
  await submit(kept, "clinic-x");
  const [erased] = await waitFor("patient projected with its conflict", async () => {
    const found = await search(gone.email);
    return found[0]?.openConflicts === 1 && (await search(kept.email)).length === 1 ? found : undefined;
  });
  await waitFor("two dead letters", async () => (await deadLetterBodies()).length === 2);
  // Opened through the API twice (so cached in Redis: a detail is stored on its second read,
  // services/dashboard/cache-admission.ts) before the erasure.
  await api(`/api/v1/patients/${erased.id}`);
  expect((await api(`/api/v1/patients/${erased.id}`)).body).toMatchObject({ email: gone.email, city: "Hamburg" });
  const keptId = (await search(kept.email))[0].id;
  await api(`/api/v1/patients/${keptId}`);
  await api(`/api/v1/patients/${keptId}`);
  expect(await redis.exists(`hookline:patient:{${erased.id}}:entry`)).toBe(1);
  // Everything is there before: the checks below can find it.
  expect(traces(await openedDatabase(), gone).length).toBe(4);
  expect(traces(pgDump(), gone)).toEqual([gone.lastName]);
  const [before] = await cluster.sql`select
      (select count(*)::int from form_submissions where patient_id = ${erased.id}) as submissions,
      (select count(*)::int from webhook_events where patient_id = ${erased.id}) as events`;
  expect(before!.events).toBe(3);

  const {
    stdout: out,
    stderr: err,
    code,
  } = await runCommand(["bun", "ops/hookline.ts", "patients", "erase", erased.id, "--yes"], {
    env: { ...serviceEnv({ NATS_URL: cluster.nats.url }), DATABASE_URL },
  });
  expect([code, err]).toEqual([0, ""]);
  expect(out).toContain(
    `patient ${erased.id} erased: 1 patient, 1 conflict(s), ${before!.submissions} form submission(s), 3 raw event(s); cache entry dropped; 0 message(s) from WEBHOOKS, 1 dead letter(s) from WEBHOOKS_DLQ`,
  );

  // Postgres: nothing of it, in clear or sealed; the other patient whole.
  expect(traces(await openedDatabase(), gone)).toEqual([]);
  expect(traces(await openedDatabase(), kept).length).toBe(4);
  expect(traces(pgDump(), gone)).toEqual([]);
  for (const table of ["webhook_events", "form_submissions", "patient_conflicts"])
    expect([
      table,
      (await cluster.sql.unsafe(`select count(*)::int as n from ${table} where patient_id = $1`, [erased.id]))[0]!.n,
    ]).toEqual([table, 0]);
  // Redis: its entry gone; nothing of it in any key.
  expect(await redis.exists(`hookline:patient:{${erased.id}}:entry`)).toBe(0);
  expect(await redis.exists(`hookline:patient:{${keptId}}:entry`)).toBe(1);
  // JetStream: its dead letter gone, the other patient's kept.
  const letters = await deadLetterBodies();
  expect(letters.flatMap((b) => traces(b, gone))).toEqual([]);
  expect(letters.flatMap((b) => traces(b, kept)).length).toBeGreaterThan(0);
  // The API: gone by id and by email; the other still found.
  expect((await api(`/api/v1/patients/${erased.id}`)).status).toBe(404);
  expect(await search(gone.email)).toEqual([]);
  expect((await search(kept.phone)).map((p) => p.id)).toEqual([keptId]);
  // The audit trail: the erasure, by whom and how much, and nothing of the patient anywhere in it.
  // The newest such entry: the log is append-only and keeps earlier runs' (ids restart at 1).
  const [entry] = await cluster.sql`
    select actor, entity_id, details from audit_log
    where action = 'patient.erase' and entity_id = ${erased.id} order by seq desc limit 1`;
  expect(entry).toMatchObject({
    actor: expect.stringMatching(/^cli:/),
    entity_id: erased.id,
    details: { erased: { patients: 1, conflicts: 1, formSubmissions: before!.submissions, webhookEvents: 3 } },
  });
  const audit = JSON.stringify(await cluster.sql`select * from audit_log`);
  expect(traces(audit, gone)).toEqual([]);
  // A redelivery of one of its webhooks is still a duplicate: the erased patient does not come back.
  const again = await postWebhook(
    cluster.services.ingress!.url,
    "generic",
    signGeneric(
      {
        type: "form.submitted",
        data: {
          "First name": "Test",
          "Last name": gone.lastName,
          "E-Mail": gone.email,
          Telefon: gone.phone,
          "Date of birth": gone.dob,
        },
      },
      firstId,
    ),
  );
  expect((await again.json()).duplicate).toBe(true);
}, 120_000);

test("DELETE /api/v1/patients/:id (admin): no trace in any table, WEBHOOKS, WEBHOOKS_DLQ or Redis, its dead letter included; 404 after", async () => {
  await submit(viaApi);
  const [p] = await waitFor("patient projected", async () => {
    const found = await search(viaApi.email);
    return found.length ? found : undefined;
  });
  await submit(viaApi, "clinic-x"); // a dead letter naming it
  await waitFor("its dead letter", async () => (await deadLetterBodies()).some((b) => traces(b, viaApi).length > 0));
  // Twice: a detail is cached on its second read.
  await api(`/api/v1/patients/${p.id}`);
  await api(`/api/v1/patients/${p.id}`);
  expect(await redis.exists(`hookline:patient:{${p.id}}:entry`)).toBe(1);
  const res = await api(`/api/v1/patients/${p.id}`, { method: "DELETE" });
  expect(res).toEqual({
    status: 200,
    body: {
      erased: { id: p.id, patients: 1, conflicts: 0, formSubmissions: expect.any(Number), webhookEvents: 1 },
      streams: { swept: true, webhooks: 0, deadLetters: 1 },
    },
  });
  // Every table, in clear and opened; the tables that hold rows by patient.
  expect(traces(await openedDatabase(), viaApi)).toEqual([]);
  expect(traces(pgDump(), viaApi)).toEqual([]);
  for (const table of ["webhook_events", "form_submissions", "patient_conflicts"])
    expect([
      table,
      (await cluster.sql.unsafe(`select count(*)::int as n from ${table} where patient_id = $1`, [p.id]))[0]!.n,
    ]).toEqual([table, 0]);
  // Both streams: nothing of it; the other patient's dead letter kept.
  expect((await streamBodies(STREAM)).flatMap((b) => traces(b, viaApi))).toEqual([]);
  const letters = await deadLetterBodies();
  expect(letters.flatMap((b) => traces(b, viaApi))).toEqual([]);
  expect(letters.flatMap((b) => traces(b, kept)).length).toBeGreaterThan(0);
  // Redis: its entry gone, and no key holds anything of it.
  expect(await redis.exists(`hookline:patient:{${p.id}}:entry`)).toBe(0);
  expect(await redisTraces(viaApi)).toEqual([]);
  expect((await api(`/api/v1/patients/${p.id}`, { method: "DELETE" })).status).toBe(404);
  const [entry] = await cluster.sql`
    select actor from audit_log where action = 'patient.erase' and entity_id = ${p.id} order by seq desc limit 1`;
  expect(entry!.actor).toMatch(/^env:/);
  // The dashboard swept over its one NATS connection, the one its sources registry uses too.
  const connz = (await (await fetch(`${cluster.nats.monitorUrl}/connz`)).json()) as { connections: { name: string }[] };
  expect(connz.connections.map((c) => c.name).filter((n) => n.startsWith("hookline-dashboard"))).toEqual([
    "hookline-dashboard",
  ]);
});

test("DELETE /api/v1/patients/:id with NATS unreachable: the rows are erased, and the answer says the streams were not swept", async () => {
  await submit(offline);
  const [p] = await waitFor("patient projected", async () => {
    const found = await search(offline.email);
    return found.length ? found : undefined;
  });
  // A second dashboard on the same database whose NATS_URL leads nowhere.
  const dashboard = await startService("dashboard", { NATS_URL: `nats://127.0.0.1:${await freePort()}` });
  try {
    const res = await fetch(`${dashboard.url}/api/v1/patients/${p.id}`, { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      erased: { id: p.id, patients: 1, conflicts: 0, formSubmissions: expect.any(Number), webhookEvents: 1 },
      streams: { swept: false, reason: "nats_unavailable", message: expect.stringContaining("NATS") },
    });
  } finally {
    await dashboard.kill();
  }
  expect(traces(await openedDatabase(), offline)).toEqual([]);
  expect((await api(`/api/v1/patients/${p.id}`)).status).toBe(404);
});

test("hookline patients erase with Redis unreachable: the streams are still swept, and the cache failure is reported (exit 1)", async () => {
  await submit(noCache);
  await submit(noCache, "clinic-x"); // a dead letter naming it
  const [p] = await waitFor("patient projected", async () => {
    const found = await search(noCache.email);
    return found.length ? found : undefined;
  });
  await waitFor("its dead letter", async () => (await deadLetterBodies()).some((b) => traces(b, noCache).length > 0));
  const { stdout, stderr, code } = await runCommand(["bun", "ops/hookline.ts", "patients", "erase", p.id, "--yes"], {
    env: {
      ...serviceEnv({ NATS_URL: cluster.nats.url }),
      DATABASE_URL,
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    },
  });
  expect([code, stderr]).toEqual([1, ""]);
  expect(stdout).toContain("cache entry NOT dropped");
  expect(stdout).toContain("1 dead letter(s) from WEBHOOKS_DLQ");
  expect((await deadLetterBodies()).flatMap((b) => traces(b, noCache))).toEqual([]);
  expect(traces(await openedDatabase(), noCache)).toEqual([]);
}, 60_000);

/** A client with a generic source, created at runtime through the API. */
async function newClient(name: string): Promise<{ source: string; secret: string }> {
  const created = await api("/api/v1/clients", {
    method: "POST",
    body: JSON.stringify({ name: `${name} ${n}`, sourceType: "generic" }),
  });
  expect(created.status).toBe(201);
  return { source: created.body.source.name, secret: created.body.source.secret };
}

/** A dead letter of `source` (as the projector writes one after its last delivery) with this body. */
async function deadLetter(source: string, eventId: string, data: Record<string, string>): Promise<void> {
  const nc = await connect({ servers: cluster.nats.url });
  try {
    const body = JSON.stringify({ type: "form.submitted", data });
    await publishProjectorDeadLetter(nc, { source, eventId, body, reason: "test", originalSeq: 1 });
  } finally {
    await nc.close();
  }
}

test("DELETE /api/v1/patients/:id sweeps its client's dead letters that name it (a runtime source's, by phone only), not another client's", async () => {
  // Two clients, each with a source created at runtime (decoded as the projector would, from
  // their records in Postgres); the patient is the first client's.
  const mine = await newClient("Phone clinic");
  const theirs = await newClient("Other clinic");
  await deadLetter(mine.source, `evt_phone_only_${n}`, { Vorname: "Test", Telefon: phoneOnly.phone });
  // The same phone at another client: that client's patient (patients are one a client), and it stays replayable there.
  await deadLetter(theirs.source, `evt_phone_other_${n}`, { Vorname: "Other", Telefon: phoneOnly.phone });
  await submit(phoneOnly, mine.source, {}, mine.secret);
  const [p] = await waitFor("patient projected", async () => {
    const found = await search(phoneOnly.email);
    return found.length ? found : undefined;
  });
  const naming = async () => (await deadLetterBodies()).filter((b) => b.includes(phoneOnly.phone));
  expect(await naming()).toHaveLength(2);
  const res = await api(`/api/v1/patients/${p.id}`, { method: "DELETE" });
  expect(res.status).toBe(200);
  expect(res.body.streams).toMatchObject({ swept: true, deadLetters: 1 });
  const left = await naming();
  expect(left).toHaveLength(1);
  expect(left[0]).toContain('"Other"');
});

test("a dead letter of one of the patient's own events is swept whichever client's source it came from (a patient merged across clients)", async () => {
  const a = await newClient("Merge A");
  const b = await newClient("Merge B");
  const [pa, pb] = [person("mergea", 7), person("mergeb", 8)];
  await submit(pa, a.source, {}, a.secret);
  await submit(pb, b.source, {}, b.secret);
  const found = async (p: ReturnType<typeof person>) =>
    (
      await waitFor(`${p.tag} projected`, async () => ((await search(p.email)).length ? search(p.email) : undefined))
    )[0];
  const [into, from] = [await found(pa), await found(pb)];
  // Merges across clients are refused now; one made before (or by hand) leaves client A's patient
  // owning client B's event, as here.
  const merged = await api(`/api/v1/patients/${into.id}/merge`, {
    method: "POST",
    body: JSON.stringify({ from: from.id }),
  });
  expect([merged.status, merged.body.error?.code]).toEqual([409, "different_clients"]);
  const fromEvent = from.eventId as string;
  await cluster.sql`update webhook_events set patient_id = ${into.id}::bigint where event_id = ${fromEvent}`;
  // A dead letter of that event from client B's source, naming nobody by email or phone: only
  // its event id links it to the patient, client A's.
  const marker = `Nobody${n}`;
  await deadLetter(b.source, fromEvent, { Vorname: marker });
  const res = await api(`/api/v1/patients/${into.id}`, { method: "DELETE" });
  expect(res.body.streams).toMatchObject({ swept: true, deadLetters: 1 });
  expect((await deadLetterBodies()).some((body) => body.includes(marker))).toBe(false);
});
