// Clients and sources at runtime (issue #11 item 1), through real processes: a dashboard, two
// ingress processes and a projector on one nats-server, Postgres and Redis. A client added
// through the API gets a source whose signed webhooks every ingress accepts within seconds
// (no restart); its secret rotates with an overlap; disabled, it is refused at every ingress;
// its events and patients carry its client; a client-scoped token sees only its client (404 for
// another's patient by id), and Postgres's row-level security holds for a raw query.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TransactionSql } from "postgres";
import { natsSourceRegistry, reconcileRegistry, resealSourceSecrets } from "../../services/dashboard/sources.ts";
import { createToken } from "../../services/dashboard/tokens.ts";
import { newKeyText, parseKeyring } from "../../shared/crypto/keyring.ts";
import { signTypeform } from "../../shared/crypto/typeform.ts";
import type { Sql } from "../../shared/db/client.ts";
import { declareClientsNamed } from "../../shared/db/patients.ts";
import { createLogger } from "../../shared/logger.ts";
import { connectNats, openSourcesBucket } from "../../shared/nats.ts";
import { openSecrets, type RuntimeSourceRecord } from "../../shared/sources/runtime.ts";
import { TEST_KEYS } from "../keys.ts";
import {
  ADMIN,
  type Cluster,
  freshDatabase,
  ROOT,
  type Service,
  serviceEnv,
  signGeneric,
  startCluster,
  startService,
  waitFor,
} from "./harness.ts";

let cluster: Cluster;
let sql: Sql;
let dashboard: Service;
let ingresses: Service[];

beforeAll(async () => {
  // Clients and sources of an earlier run go first (the dashboard publishes every stored source at start).
  const before = await freshDatabase();
  await before`truncate clients, sources restart identity cascade`;
  await before.end();
  cluster = await startCluster(["projector", "dashboard", "ingress"]);
  ({ sql } = cluster);
  const { dashboard: d, ingress } = cluster.services as Required<Cluster["services"]>;
  dashboard = d;
  // A second ingress process: a source created at runtime must reach every pod.
  const second = await startService("ingress", { NATS_URL: cluster.nats.url });
  ingresses = [ingress, second];
}, 120_000);
afterAll(async () => {
  await Promise.all(ingresses?.slice(1).map((s) => s.kill("SIGKILL")) ?? []);
  await cluster?.stop();
});

const api = (path: string, init: { method?: string; body?: unknown; token?: string } = {}) =>
  fetch(`${dashboard.url}/api/v1${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : ADMIN),
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });

/** A Standard Webhooks delivery signed with `secret` to `url`. */
function postSigned(url: string, secret: string, body: unknown, id: string): Promise<Response> {
  return fetch(url, { method: "POST", ...signGeneric(body, id, undefined, secret) });
}

/** The same delivery to every ingress process (the URL's path, each process's address). */
const toEveryIngress = (webhookUrl: string, secret: string, body: unknown, id: string) =>
  Promise.all(
    ingresses.map((i, n) => postSigned(`${i.url}${new URL(webhookUrl).pathname}`, secret, body, `${id}-${n}`)),
  );

const person = (email: string, last: string) => ({ data: { "First name": "Ada", "Last name": last, "E-Mail": email } });

interface Created {
  client: { id: string; name: string; createdAt: string };
  source: {
    name: string;
    type: string;
    clientId: string;
    enabled: boolean;
    webhookUrl: string;
    secret: string;
    setup: string[];
  };
}
let clinic: Created;
let other: Created;

describe("Add New Client", () => {
  test("answers the client, its source's webhook URL, a secret shown once and the setup steps", async () => {
    const res = await api("/clients", { body: { name: "Praxis Müller", sourceType: "generic" } });
    expect(res.status).toBe(201);
    clinic = await res.json();
    expect(clinic.client).toEqual({
      id: expect.stringMatching(/^\d+$/),
      name: "Praxis Müller",
      createdAt: expect.any(String),
    });
    expect(clinic.source).toMatchObject({
      name: "praxis-muller-generic",
      type: "generic",
      clientId: clinic.client.id,
      enabled: true,
      webhookUrl: "http://127.0.0.1:8080/v1/webhooks/praxis-muller-generic",
    });
    expect(clinic.source.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(clinic.source.setup.length).toBeGreaterThan(1);
    expect(clinic.source.setup.join(" ")).toContain(clinic.source.webhookUrl);
    // Sealed at rest: the stored secrets are not the secret.
    const [row] = await sql`select secrets_enc from sources where name = ${clinic.source.name}`;
    expect(Buffer.from(row!.secrets_enc).toString("latin1")).not.toContain(clinic.source.secret);
    // Never shown again.
    const listed = await (await api("/clients")).json();
    expect(JSON.stringify(listed)).not.toContain(clinic.source.secret);
    expect(listed.items.find((c: { id: string }) => c.id === clinic.client.id).sources[0].name).toBe(
      clinic.source.name,
    );
  });

  test("invalid input is a 400 naming each field; a taken name a 409", async () => {
    const bad = await api("/clients", { body: { name: "  ", sourceType: "fax", sourceName: "Bad Name" } });
    expect(bad.status).toBe(400);
    const { error } = await bad.json();
    expect(error.code).toBe("invalid_request");
    expect(error.fields.map((f: { field: string }) => f.field).sort()).toEqual(["name", "sourceName", "sourceType"]);
    const again = await api("/clients", { body: { name: "praxis müller", sourceType: "typeform" } });
    expect(again.status).toBe(409);
    expect((await again.json()).error.code).toBe("client_name_taken");
    const fileName = await api(`/clients/${clinic.client.id}/sources`, {
      body: { sourceType: "generic", sourceName: "generic" },
    });
    expect(fileName.status).toBe(409);
  });

  test("a signed webhook to the new source is accepted by every ingress process within seconds, no restart", async () => {
    const started = performance.now();
    const statuses = await waitFor(
      "the new source at both ingress processes",
      async () => {
        const res = await toEveryIngress(
          clinic.source.webhookUrl,
          clinic.source.secret,
          person("ada@clinic.example", "Lovelace"),
          "msg_runtime_first",
        );
        const s = res.map((r) => r.status);
        return s.every((x) => x === 200) ? s : undefined;
      },
      10_000,
    );
    expect(statuses).toEqual([200, 200]);
    console.log(
      `runtime source accepted by both ingress processes ${Math.round(performance.now() - started)} ms after its creation answered`,
    );
    // A wrong signature is still a 401 there.
    const wrong = await postSigned(
      `${ingresses[0]!.url}/v1/webhooks/${clinic.source.name}`,
      "whsec_aG9va2xpbmUtZGV2LXNlY3JldC0zMi1ieXRlcy1vayE=",
      person("x@clinic.example", "X"),
      "msg_wrong",
    );
    expect(wrong.status).toBe(401);
  });

  test("its events, submissions and patients carry its client (stamped from the source)", async () => {
    const rows = await waitFor("the runtime source's events projected", async () => {
      const r = await sql`select client_id::text from webhook_events where source = ${clinic.source.name}`;
      return r.length === 2 ? r : undefined;
    });
    expect(rows.map((r) => r.client_id)).toEqual([clinic.client.id, clinic.client.id]);
    const patients = await sql`select client_id::text from patients where source = ${clinic.source.name}`;
    expect(patients.map((p) => p.client_id)).toEqual([clinic.client.id]);
  });

  test("a row written without its client gets its source's, unless the writer declared the clients named (020)", async () => {
    // The projector declares it (it names every row's client, null for a source without
    // one); any other writer is stamped by the trigger.
    const insert = (tx: Sql | TransactionSql, eventId: string) => tx<{ client_id: string | null }[]>`
      insert into patients (first_event_id, last_event_id, source, submitted_at)
      values (${eventId}, ${eventId}, ${clinic.source.name}, now()) returning client_id::text`;
    // One connection throughout, so that "transaction-local" is tested: a setting left on the
    // session would show in the third insert.
    const conn = await sql.reserve();
    try {
      const [stamped] = await insert(conn, "evt_stamp_020_a");
      expect(stamped!.client_id).toBe(clinic.client.id);
      await conn`begin`;
      await declareClientsNamed(conn as unknown as TransactionSql);
      const [named] = await insert(conn, "evt_stamp_020_b");
      await conn`commit`;
      expect(named!.client_id).toBeNull();
      const [after] = await insert(conn, "evt_stamp_020_c");
      expect(after!.client_id).toBe(clinic.client.id);
    } finally {
      conn.release();
      await sql`delete from patients where first_event_id like 'evt_stamp_020_%'`;
    }
  });
});

describe("managing a source", () => {
  test("rotate-secret: the new secret works at once everywhere, and the old one still does (overlap)", async () => {
    const res = await api(`/sources/${clinic.source.name}/rotate-secret`, { body: {} });
    expect(res.status).toBe(200);
    const { secret } = await res.json();
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(clinic.source.secret);
    await waitFor(
      "the new secret at both ingress processes",
      async () => {
        const r = await toEveryIngress(
          clinic.source.webhookUrl,
          secret,
          person("new@clinic.example", "New"),
          `msg_rot_${Date.now()}`,
        );
        return r.every((x) => x.status === 200);
      },
      10_000,
    );
    const old = await toEveryIngress(
      clinic.source.webhookUrl,
      clinic.source.secret,
      person("old@clinic.example", "Old"),
      "msg_rot_old",
    );
    expect(old.map((r) => r.status)).toEqual([200, 200]);
    const [row] = await sql`select rotated_at from sources where name = ${clinic.source.name}`;
    expect(row!.rotated_at).toBeInstanceOf(Date);
  });

  test("disabled, the source is refused at every ingress (403 source_disabled); enabled, accepted again", async () => {
    expect((await api(`/sources/${clinic.source.name}/disable`, { body: {} })).status).toBe(200);
    const refused = await waitFor(
      "the disable at both ingress processes",
      async () => {
        const r = await toEveryIngress(
          clinic.source.webhookUrl,
          clinic.source.secret,
          person("d@clinic.example", "D"),
          `msg_dis_${Date.now()}`,
        );
        return r.every((x) => x.status === 403) ? Promise.all(r.map((x) => x.json())) : undefined;
      },
      10_000,
    );
    expect(refused.map((b) => b.error.code)).toEqual(["source_disabled", "source_disabled"]);
    const listed = await (await api("/sources")).json();
    expect(listed.items.find((s: { name: string }) => s.name === clinic.source.name)).toMatchObject({
      enabled: false,
      origin: "runtime",
      clientId: clinic.client.id,
    });
    expect((await api(`/sources/${clinic.source.name}/enable`, { body: {} })).status).toBe(200);
    await waitFor(
      "the enable at both ingress processes",
      async () => {
        const r = await toEveryIngress(
          clinic.source.webhookUrl,
          clinic.source.secret,
          person("e@clinic.example", "E"),
          `msg_en_${Date.now()}`,
        );
        return r.every((x) => x.status === 200);
      },
      10_000,
    );
  });

  test("an ingress that cannot open runtime sources (no HOOKLINE_KEYS) answers them 503 source_unavailable, never 404; it is ready once the bucket is loaded", async () => {
    const keyless = await startService("ingress", { NATS_URL: cluster.nats.url, HOOKLINE_ENV: "", HOOKLINE_KEYS: "" });
    try {
      const ready = await fetch(`${keyless.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect((await ready.json()).checks).toMatchObject({ runtimeSources: true });
      const res = await postSigned(
        `${keyless.url}/v1/webhooks/${clinic.source.name}`,
        clinic.source.secret,
        person("keyless@clinic.example", "Keyless"),
        "msg_keyless",
      );
      expect([res.status, res.headers.get("retry-after"), (await res.json()).error.code]).toEqual([
        503,
        "2",
        "source_unavailable",
      ]);
      const unknown = await fetch(`${keyless.url}/v1/webhooks/no-such-source`, { method: "POST", body: "{}" });
      expect(unknown.status).toBe(404);
    } finally {
      await keyless.kill("SIGKILL");
    }
  });

  test("another source for the client (Typeform) is served too; GET /sources lists file and runtime sources with activity", async () => {
    const res = await api(`/clients/${clinic.client.id}/sources`, { body: { sourceType: "typeform" } });
    expect(res.status).toBe(201);
    const { source } = await res.json();
    expect(source).toMatchObject({ name: "praxis-muller-typeform", type: "typeform", clientId: clinic.client.id });
    const body = JSON.stringify({
      event_id: "tf-1",
      form_response: { form_id: "f", submitted_at: new Date().toISOString(), answers: [], definition: { fields: [] } },
    });
    await waitFor(
      "the typeform source at both ingress processes",
      async () => {
        const r = await Promise.all(
          ingresses.map((i) =>
            fetch(`${i.url}/v1/webhooks/${source.name}`, {
              method: "POST",
              headers: { "content-type": "application/json", "typeform-signature": signTypeform(source.secret, body) },
              body,
            }),
          ),
        );
        return r.every((x) => x.status === 200);
      },
      10_000,
    );
    const { items } = await (await api("/sources")).json();
    const byName = new Map(items.map((s: { name: string }) => [s.name, s]));
    expect(byName.get("generic")).toMatchObject({ origin: "file", clientId: null, enabled: true });
    const runtime = byName.get(clinic.source.name) as Record<string, unknown>;
    expect(runtime.origin).toBe("runtime");
    expect(runtime.errorsLast24h).toBe(0);
    expect(Date.parse(runtime.lastEventAt as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(runtime.eventsLast24h as number).toBeGreaterThanOrEqual(2);
  });
});

describe("client scoping", () => {
  let scopedToken: string;
  let otherPatientId: string;
  let clinicPatientId: string;

  beforeAll(async () => {
    const res = await api("/clients", { body: { name: "Other Clinic", sourceType: "generic" } });
    other = await res.json();
    // The email of the first client's patient: a patient of its own at this client (deduplicated within a client only).
    await waitFor(
      "the other client's source",
      async () => {
        const r = await toEveryIngress(
          other.source.webhookUrl,
          other.source.secret,
          person("ada@clinic.example", "Other"),
          `msg_other_${Date.now()}`,
        );
        return r.every((x) => x.status === 200);
      },
      10_000,
    );
    const [p] = await waitFor("the other client's patient", async () => {
      const r = await sql`select id::text from patients where client_id = ${other.client.id}::bigint`;
      return r.length ? r : undefined;
    });
    otherPatientId = p!.id;
    [{ id: clinicPatientId }] = (await sql`
      select id::text from patients where client_id = ${clinic.client.id}::bigint order by id limit 1`) as unknown as [
      { id: string },
    ];
    ({ token: scopedToken } = await createToken(sql, {
      name: "clinic-scoped",
      role: "admin",
      createdBy: "test",
      clientId: clinic.client.id,
    }));
  });

  test("the same email at two clients is two patients, one a client", async () => {
    const rows = await sql`
      select client_id::text, count(*)::int as n from patients
      where email_bidx = (select email_bidx from patients where id = ${otherPatientId}::bigint)
      group by client_id order by client_id`;
    expect(rows.map((r) => [r.client_id, r.n])).toEqual(
      [
        [clinic.client.id, 1],
        [other.client.id, 1],
      ].sort(),
    );
  });

  test("a scoped token asking for another client's patient by id gets 404; its own is served", async () => {
    const foreign = await api(`/patients/${otherPatientId}`, { token: scopedToken });
    expect(foreign.status).toBe(404);
    expect((await foreign.json()).error.code).toBe("patient_not_found");
    expect((await api(`/patients/${clinicPatientId}`, { token: scopedToken })).status).toBe(200);
    // An unscoped admin sees both.
    expect((await api(`/patients/${otherPatientId}`)).status).toBe(200);
  });

  test("a scoped token lists only its client's patients, clients and sources; changes and other routes are refused", async () => {
    const { items } = await (await api("/patients?limit=500", { token: scopedToken })).json();
    expect(items.length).toBeGreaterThan(0);
    const ids = new Set(
      (await sql`select id::text from patients where client_id = ${clinic.client.id}::bigint`).map((r) => r.id),
    );
    expect(items.every((p: { id: string }) => ids.has(p.id))).toBe(true);
    expect(items.length).toBe(ids.size);
    const clients = await (await api("/clients", { token: scopedToken })).json();
    expect(clients.items.map((c: { id: string }) => c.id)).toEqual([clinic.client.id]);
    const sources = await (await api("/sources", { token: scopedToken })).json();
    expect(new Set(sources.items.map((s: { clientId: string }) => s.clientId))).toEqual(new Set([clinic.client.id]));
    const create = await api("/clients", { token: scopedToken, body: { name: "Sneaky", sourceType: "generic" } });
    expect(create.status).toBe(403);
    expect((await create.json()).error.code).toBe("scope_not_supported");
    const rotate = await api(`/sources/${other.source.name}/rotate-secret`, { token: scopedToken, body: {} });
    expect(rotate.status).toBe(403);
    expect((await api("/events", { token: scopedToken })).status).toBe(403);
    // Erasing another client's patient: it does not exist for this token.
    expect((await api(`/patients/${otherPatientId}`, { token: scopedToken, method: "DELETE" })).status).toBe(404);
  });

  test("conflicts: a scoped token sees and resolves only its client's", async () => {
    // A submission contradicting the other client's patient (another first name): held back as a conflict.
    const held = {
      data: { "First name": "Eve", "Last name": "Other", "E-Mail": "ada@clinic.example" },
    };
    const res = await postSigned(
      other.source.webhookUrl.replace("http://127.0.0.1:8080", ingresses[0]!.url),
      other.source.secret,
      held,
      "msg_conflict",
    );
    expect(res.status).toBe(200);
    const [conflict] = await waitFor("the other client's conflict", async () => {
      const r = await sql`select id::text from patient_conflicts where patient_id = ${otherPatientId}::bigint`;
      return r.length ? r : undefined;
    });
    const all = await (await api("/conflicts")).json();
    expect(all.items.map((c: { id: string }) => c.id)).toContain(conflict!.id);
    const mine = await (await api("/conflicts", { token: scopedToken })).json();
    expect(mine.items.map((c: { id: string }) => c.id)).not.toContain(conflict!.id);
    const ofOther = await (await api(`/patients/${otherPatientId}/conflicts`, { token: scopedToken })).json();
    expect(ofOther.items).toEqual([]);
    const resolve = await api(`/conflicts/${conflict!.id}/resolve`, {
      token: scopedToken,
      body: { action: "dismiss" },
    });
    expect(resolve.status).toBe(404);
    const [row] = await sql`select status from patient_conflicts where id = ${conflict!.id}::bigint`;
    expect(row!.status).toBe("open");
  });

  test("`hookline tokens create --client` makes a scoped token; an unknown client is refused", async () => {
    const run = (...args: string[]) =>
      Bun.spawnSync(["bun", "ops/hookline.ts", "tokens", "create", ...args], {
        cwd: ROOT,
        env: serviceEnv(),
        stdout: "pipe",
        stderr: "pipe",
      });
    const made = run("--name", "cli-scoped", "--role", "viewer", "--client", other.client.id, "--json");
    expect(made.exitCode).toBe(0);
    const { token, clientId } = JSON.parse(made.stdout.toString());
    expect(clientId).toBe(other.client.id);
    const clients = await (await api("/clients", { token })).json();
    expect(clients.items.map((c: { id: string }) => c.id)).toEqual([other.client.id]);
    expect((await api(`/patients/${clinicPatientId}`, { token })).status).toBe(404);
    const unknown = run("--name", "cli-nowhere", "--role", "viewer", "--client", "999999");
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr.toString()).toContain("client_not_found");
  });

  test("row-level security holds for a raw query in a scoped transaction, whatever its WHERE clause", async () => {
    const seen = await sql.begin(async (tx) => {
      await tx`select set_config('hookline.client_id', ${clinic.client.id}, true)`;
      return {
        patients: await tx`select distinct client_id::text from patients`,
        events: await tx`select distinct client_id::text from webhook_events`,
        submissions: await tx`select distinct client_id::text from form_submissions`,
        other: await tx`select id from patients where id = ${otherPatientId}::bigint`,
        clients: await tx`select id::text from clients`,
        updated:
          await tx`update patients set city = 'Nowhere' where client_id = ${other.client.id}::bigint returning id`,
      };
    });
    expect(seen.patients.map((r) => r.client_id)).toEqual([clinic.client.id]);
    expect(seen.events.map((r) => r.client_id)).toEqual([clinic.client.id]);
    expect(seen.submissions.every((r) => r.client_id === clinic.client.id)).toBe(true);
    expect(seen.other.length).toBe(0);
    expect(seen.clients.map((r) => r.id)).toEqual([clinic.client.id]);
    expect(seen.updated.length).toBe(0);
    // Inserting a row for another client is refused by the policy.
    const insert = sql.begin(async (tx) => {
      await tx`select set_config('hookline.client_id', ${clinic.client.id}, true)`;
      await tx`insert into clients (name) values ('Injected')`;
    });
    expect(insert).rejects.toThrow(/row-level security/);
    // The setting ends with its transaction: the next use of a pooled connection is unscoped.
    const [{ n }] = (await sql`select count(distinct client_id)::int as n from patients`) as unknown as [{ n: number }];
    expect(n).toBe(2);
  });
});

describe("the registry in step with the database", () => {
  test("a record lost from the bucket is written again by the reconcile round, and served again", async () => {
    const nc = await connectNats(cluster.nats.url, "hookline-test", createLogger("test", "silent"));
    try {
      const kv = await openSourcesBucket(nc);
      await kv.delete(clinic.source.name);
      await waitFor(
        "the deleted source refused",
        async () => {
          const r = await toEveryIngress(
            clinic.source.webhookUrl,
            clinic.source.secret,
            person("lost@clinic.example", "L"),
            `msg_lost_${Date.now()}`,
          );
          return r.every((x) => x.status === 404);
        },
        10_000,
      );
      const registry = natsSourceRegistry(async () => nc);
      expect(await reconcileRegistry(sql, registry)).toEqual({ put: 1, removed: 0 });
      // In step now: a second round changes nothing.
      expect(await reconcileRegistry(sql, registry)).toEqual({ put: 0, removed: 0 });
      await waitFor(
        "the source served again",
        async () => {
          const r = await toEveryIngress(
            clinic.source.webhookUrl,
            clinic.source.secret,
            person("back@clinic.example", "B"),
            `msg_back_${Date.now()}`,
          );
          return r.every((x) => x.status === 200);
        },
        10_000,
      );
    } finally {
      await nc.drain();
    }
  });

  test("a round leaves a record published in the last minute alone (a change still committing), and corrects an older one", async () => {
    const [row] = await sql`select name, enabled from sources where name = ${clinic.source.name}`;
    const records = new Map<string, RuntimeSourceRecord>();
    const registry = {
      put: async (r: RuntimeSourceRecord) => void records.set(r.name, r),
      all: async () => new Map(records),
    };
    expect((await reconcileRegistry(sql, registry)).put).toBeGreaterThan(0);
    const inStep = records.get(row!.name)!;
    expect(inStep.enabled).toBe(row!.enabled);
    // A disable published by a transaction not yet committed: the rows still say enabled.
    records.set(row!.name, { ...inStep, enabled: !row!.enabled, updatedAt: new Date().toISOString() });
    expect(await reconcileRegistry(sql, registry)).toEqual({ put: 0, removed: 0 });
    expect(records.get(row!.name)!.enabled).toBe(!row!.enabled);
    // The same record two minutes old: its transaction did not commit; the row wins.
    records.set(row!.name, {
      ...inStep,
      enabled: !row!.enabled,
      updatedAt: new Date(Date.now() - 120_000).toISOString(),
    });
    expect(await reconcileRegistry(sql, registry)).toEqual({ put: 1, removed: 0 });
    expect(records.get(row!.name)!.enabled).toBe(row!.enabled);
  });

  test("`hookline keys rotate` re-seals the sources' secrets under the new data key", async () => {
    const text = (keys: readonly { id: string; key: Buffer; createdAt: Date }[]) =>
      keys.map((k) => `${k.id}:${k.key.toString("base64")}:${k.createdAt.toISOString()}`).join(",");
    const next = parseKeyring(`${newKeyText("test-data-2")},${text(TEST_KEYS.data.keys)}`, "test");
    const rotate = Bun.spawnSync(["bun", "ops/hookline.ts", "keys", "rotate"], {
      cwd: ROOT,
      env: serviceEnv({ HOOKLINE_KEYS: text(next.keys) }),
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(rotate.exitCode).toBe(0);
    const rows = await sql`select secrets_enc, hookline_key_id(secrets_enc) as key_id from sources`;
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(new Set(rows.map((r) => r.key_id))).toEqual(new Set(["test-data-2"]));
    // Opened with the new key alone: the old one can leave the keyring.
    const newOnly = parseKeyring(text(next.keys.slice(0, 1)), "test");
    for (const r of rows) expect(openSecrets(newOnly, r.secrets_enc).length).toBeGreaterThan(0);
    expect(await resealSourceSecrets(sql, next)).toBe(0);
  });
});
