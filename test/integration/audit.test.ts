// Issue #10 item 3, the audit trail, through the real services and CLI: every webhook's
// receipt is chained in the projector's batch, a patient's detail read and a conflict's
// resolution are recorded with their actor, concurrent writers keep one chain, the CLI
// verifies and exports it, the database refuses changes, and a row changed or removed
// behind its back (as the table's owner, which can lift both guards) is found by verify.
// Runs in a schema of its own, so its chain holds exactly what this file wrote.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstream } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { recordAudit } from "../../shared/audit/writer.ts";
import { createDb, type Sql } from "../../shared/db/client.ts";
import { migrate } from "../../shared/db/migrate.ts";
import { H } from "../../shared/nats.ts";
import { parseCsv } from "../csv.ts";
import {
  ADMIN,
  DATABASE_URL,
  type NatsServer,
  postWebhook,
  runCommand,
  type Service,
  signGeneric,
  startNats,
  startService,
  waitFor,
} from "./harness.ts";

const schema = `audit_${process.pid}`;
const schemaUrl = (() => {
  const u = new URL(DATABASE_URL);
  u.searchParams.set("search_path", schema);
  return u.toString();
})();

let admin: Sql;
let sql: Sql;
let nats: NatsServer;
let nc: NatsConnection;
const services: Service[] = [];
let ingress: Service;
let dashboard: Service;

beforeAll(async () => {
  admin = createDb(DATABASE_URL, { name: "hookline-test-admin", max: 1 });
  await admin.unsafe(`drop schema if exists ${schema} cascade`);
  await admin.unsafe(`create schema ${schema}`);
  sql = createDb(schemaUrl, { name: "hookline-test", max: 4 });
  await migrate(sql);
  nats = await startNats();
  const env = { DATABASE_URL: schemaUrl, NATS_URL: nats.url, BATCH_DELAY_MS: "5" };
  for (const name of ["ingress", "projector", "dashboard"] as const) services.push(await startService(name, env));
  [ingress, , dashboard] = services as [Service, Service, Service];
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await Promise.all(services.map((s) => s.kill("SIGKILL")));
  await nats?.dispose();
  await sql?.end();
  await admin?.unsafe(`drop schema if exists ${schema} cascade`);
  await admin?.end();
});

/** `ops/hookline.ts audit ...` against this file's schema. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await runCommand(["bun", "ops/hookline.ts", "audit", ...args], {
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/root", DATABASE_URL: schemaUrl },
  });
  return { code, out: stdout, err: stderr };
}

const api = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${dashboard.url}${path}`, {
    ...init,
    headers: { ...ADMIN, "content-type": "application/json", ...init.headers },
  });
  return { status: res.status, body: (await res.json()) as any };
};

const rows = (filter: string) => sql.unsafe(`select * from audit_log where ${filter} order by seq`);
const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

/** Posts a signed generic webhook and waits for the projector to have stored `total` events. */
async function submit(id: string, data: Record<string, string>, submittedAt: string, total: number) {
  const res = await postWebhook(ingress.url, "generic", signGeneric({ timestamp: submittedAt, data }, id));
  expect(res.status).toBe(200);
  const { eventId } = (await res.json()) as { eventId: string };
  await waitFor(
    `${id} projected`,
    async () => (await sql`select count(*)::int as n from webhook_events`)[0]!.n === total,
  );
  return eventId;
}

/** A message stored as the ingress would store it, with a msg id of its own (so a repeat is stored too). */
async function publishStored(source: string, eventId: string, body: string, msgId: string) {
  const h = headers();
  h.set(H.source, source);
  h.set(H.eventId, eventId);
  h.set(H.receivedAt, String(Date.now()));
  h.set(H.contentType, "application/json");
  await jetstream(nc).publish(`webhooks.${source}`, new TextEncoder().encode(body), { headers: h, msgID: msgId });
}

const PATIENT = { Email: "grace.audit@example.com", Vorname: "Grace", Nachname: "Hopper", Geburtsdatum: "1906-12-09" };
let patientId = "";

test("each webhook's receipt is in the chain (projected, duplicate, dead-lettered), with no payload", async () => {
  const e1 = await submit("msg_audit_1", PATIENT, at(10), 1);
  const e2 = await submit("msg_audit_2", { ...PATIENT, Telefon: "+49 30 5550101" }, at(5), 2);
  const receipts = await rows("action = 'webhook.receive'");
  expect(receipts.map((r) => [r.entity_id, r.details.outcome])).toEqual([
    [e1, "projected"],
    [e2, "projected"],
  ]);
  patientId = receipts[0]!.details.patientId;
  expect(receipts[0]).toMatchObject({
    actor: "projector",
    entity_type: "webhook_event",
    before_hash: null,
    details: { source: "generic", created: true },
  });
  // What each did to the patient: created it, then changed its phone; the states chain.
  expect(receipts[1]!.details.patientId).toBe(patientId);
  expect(receipts[1]!.changed_fields).toContain("phone");
  expect(receipts[1]!.changed_fields).not.toContain("firstName");
  expect(receipts[1]!.before_hash.equals(receipts[0]!.after_hash)).toBe(true);

  // The same event delivered again (past the ingress's duplicate window), and one nobody can project.
  const body = JSON.stringify({ data: { Email: "dup.audit@example.com" } });
  await publishStored("generic", "evt_audit_dup", body, "first");
  await publishStored("generic", "evt_audit_dup", body, "again");
  await publishStored("nosuchsource", "evt_audit_dead", body, "dead");
  await waitFor("three more receipts", async () => (await rows("action = 'webhook.receive'")).length === 5);
  const later = await rows("action = 'webhook.receive' and entity_id in ('evt_audit_dup', 'evt_audit_dead')");
  expect(later.map((r) => [r.entity_id, r.details.outcome]).sort()).toEqual([
    ["evt_audit_dead", "dead-lettered"],
    ["evt_audit_dup", "duplicate"],
    ["evt_audit_dup", "projected"],
  ]);
  expect(later.find((r) => r.details.outcome === "dead-lettered")!.details).toMatchObject({
    source: "nosuchsource",
    code: "unknown_source",
  });

  const stored = JSON.stringify(await rows("true"));
  for (const secret of ["grace.audit", "Grace", "Hopper", "1906-12-09", "5550101", "dup.audit"])
    expect(stored).not.toContain(secret);
});

test("a patient's detail read is recorded with the caller, cache hit or not; a miss is not a read", async () => {
  // Two misses (the second stores the detail: cache-admission.ts), then a hit.
  for (let i = 0; i < 3; i++) expect((await api(`/api/v1/patients/${patientId}`)).status).toBe(200);
  const reads = await rows(`action = 'patient.read'`);
  expect(reads).toHaveLength(3);
  // The dev token is the first DASHBOARD_API_TOKENS entry.
  for (const r of reads)
    expect(r).toMatchObject({
      actor: "env:1",
      entity_type: "patient",
      entity_id: patientId,
      details: { role: "admin", actorName: "DASHBOARD_API_TOKENS #1" },
    });
  expect((await api("/api/v1/patients/999999")).status).toBe(404);
  expect(await rows(`action = 'patient.read'`)).toHaveLength(3);
});

test("concurrent detail reads are appended together (group commit), each one recorded, the chain one", async () => {
  const before = (await rows(`action = 'patient.read'`)).length;
  const reads = await Promise.all(Array.from({ length: 24 }, () => api(`/api/v1/patients/${patientId}`)));
  expect(reads.map((r) => r.status)).toEqual(Array(24).fill(200));
  const recorded = (await rows(`action = 'patient.read'`)).slice(before);
  expect(recorded).toHaveLength(24);
  // One append, one time (taken under the chain's lock): reads that arrived while an append
  // was running share the next one. One append a read would give each its own time.
  const appends = new Set(recorded.map((r) => r.at.toISOString()));
  expect(appends.size).toBeLessThan(24);
  const verified = await cli("verify");
  expect(verified.code).toBe(0);
});

test("a read whose audit entry cannot be committed is not served", async () => {
  const before = (await rows(`action = 'patient.read'`)).length;
  await sql`revoke insert on audit_log from current_user`;
  try {
    const res = await api(`/api/v1/patients/${patientId}`);
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain(PATIENT.Email);
  } finally {
    await sql`grant insert on audit_log to current_user`;
  }
  expect(await rows(`action = 'patient.read'`)).toHaveLength(before);
  expect((await api(`/api/v1/patients/${patientId}`)).status).toBe(200);
});

test("accepting a conflict records the conflict and the patient's change, hashes linking to the projector's", async () => {
  await submit("msg_audit_3", { Email: PATIENT.Email, Geburtsdatum: "1907-01-01" }, at(1), 4);
  const [conflict] = (await api("/api/v1/conflicts")).body.items;
  expect(conflict.patientId).toBe(patientId);
  const res = await api(`/api/v1/conflicts/${conflict.id}/resolve`, {
    method: "POST",
    body: JSON.stringify({ action: "accept" }),
  });
  expect(res.status).toBe(200);

  const [accept, update] = await rows(`action in ('conflict.accept', 'patient.update')`);
  expect(accept).toMatchObject({
    actor: "env:1",
    entity_type: "patient_conflict",
    entity_id: conflict.id,
    changed_fields: ["status", "resolvedAt"],
    details: { patientId },
  });
  expect(update).toMatchObject({
    actor: "env:1",
    entity_type: "patient",
    entity_id: patientId,
    details: { conflictId: conflict.id },
  });
  expect(update!.changed_fields).toContain("dateOfBirth");
  expect(update!.before_hash.equals(update!.after_hash)).toBe(false);
  // The patient's state before the accept is the one the projector's last receipt left it in.
  const [lastByProjector] = await sql`
    select after_hash from audit_log where actor = 'projector' and details->>'patientId' = ${patientId}
    order by seq desc limit 1`;
  expect(update!.before_hash.equals(lastByProjector!.after_hash)).toBe(true);
});

test("concurrent appends from two connection pools keep one unforked chain", async () => {
  const before = Number((await sql`select count(*) as n from audit_log`)[0]!.n);
  const pools = [createDb(schemaUrl, { name: "audit-a", max: 4 }), createDb(schemaUrl, { name: "audit-b", max: 4 })];
  try {
    await Promise.all(
      pools.flatMap((pool, p) =>
        Array.from({ length: 60 }, (_, i) =>
          pool.begin(async (tx) => {
            await tx`select pg_sleep(${(i % 3) * 0.002})`; // other work in the transaction first
            const n = (i % 3) + 1;
            const entries = Array.from({ length: n }, (_, k) => ({
              actor: "system",
              action: "test.append",
              entityType: "test",
              entityId: `${p}-${i}-${k}`,
            }));
            return recordAudit(tx, entries);
          }),
        ),
      ),
    );
  } finally {
    await Promise.all(pools.map((pool) => pool.end()));
  }
  const [{ n, max }] = (await sql`select count(*)::int as n, max(seq)::int as max from audit_log`) as any;
  expect(n).toBe(before + 2 * 20 * (1 + 2 + 3));
  expect(max).toBe(n); // seq 1..n without a gap
  const verified = await cli("verify");
  expect(verified.out).toContain(`audit chain intact: ${n} row(s)`);
  expect(verified.code).toBe(0);
});

test("an append's text is hashed by Postgres as the verifier hashes it: escapes, accents, emoji, on its own or in a transaction", async () => {
  const odd = 'quote " backslash \\ newline \n tab \t nul-free \u0001 Müller Ødegård 你好 🙂 \u2028 end';
  const entries = [
    { actor: `token:${odd}`, action: "test.text", entityType: "test", entityId: odd, details: { note: odd, n: 1.5 } },
    { actor: "system", action: "test.text", entityType: "test", entityId: null, changedFields: ["email", odd] },
  ];
  const onItsOwn = await recordAudit(sql, entries);
  const inTx = await sql.begin((tx) => recordAudit(tx, entries[0]!));
  expect(onItsOwn.map(Number)).toEqual([Number(onItsOwn[0]), Number(onItsOwn[0]) + 1]);
  expect(Number(inTx[0])).toBe(Number(onItsOwn[1]) + 1);
  const rows = await sql`select actor, entity_id, changed_fields, details from audit_log
    where seq = any(${[...onItsOwn, ...inTx]}::bigint[]) order by seq`;
  expect(rows.map((r) => [r.actor, r.entity_id])).toEqual([
    [`token:${odd}`, odd],
    ["system", null],
    [`token:${odd}`, odd],
  ]);
  expect(rows[0]!.details).toEqual({ note: odd, n: 1.5 });
  expect(rows[1]!.changed_fields).toEqual(["email", odd]);
  const verified = await cli("verify");
  expect(verified.code).toBe(0);
});

test("report: the rows of a time range, in seq order, as CSV and as JSON", async () => {
  const times = await sql<{ at: Date }[]>`select distinct at from audit_log order by at`;
  expect(times.length).toBeGreaterThan(4);
  const from = times[1]!.at.toISOString();
  const to = times[times.length - 2]!.at.toISOString(); // exclusive
  const expected = (
    await sql`select seq::text as seq from audit_log where at >= ${from} and at < ${to} order by audit_log.seq`
  ).map((r) => r.seq);
  expect(expected.length).toBeGreaterThan(0);

  const csv = await cli("report", "--from", from, "--to", to, "--format", "csv");
  expect(csv.code).toBe(0);
  const [header, ...records] = parseCsv(csv.out);
  expect(header).toEqual([
    "seq",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "changed_fields",
    "before_hash",
    "after_hash",
    "details",
    "prev_hash",
    "hash",
  ]);
  expect(records.map((r) => r[0])).toEqual(expected);
  const update = records.find((r) => r[3] === "patient.update")!;
  expect(update[6]).toContain("dateOfBirth");
  expect(JSON.parse(update[9]!)).toHaveProperty("conflictId");
  expect(update[7]).toMatch(/^[0-9a-f]{64}$/);

  const json = await cli("report", "--from", from, "--to", to, "--format", "json");
  expect(json.code).toBe(0);
  const items = JSON.parse(json.out) as { seq: string; hash: string; prevHash: string }[];
  expect(items.map((r) => r.seq)).toEqual(expected);
  for (const [i, r] of items.entries()) if (i > 0) expect(r.prevHash).toBe(items[i - 1]!.hash);

  const none = await cli("report", "--from", "2000-01-01", "--to", "2000-01-02", "--format", "json");
  expect(JSON.parse(none.out)).toEqual([]);
  expect((await cli("report", "--from", "2000-01-01", "--to", "2000-01-02")).out).toBe(`${header!.join(",")}\r\n`);
  const bad = await cli("report", "--from", "yesterday-ish", "--to", to);
  expect(bad.code).toBe(2);
  expect(bad.err).toContain("--from must be a date");
});

/** Runs `statement` with the owner's powers: privileges granted back and the trigger off, then both restored. */
async function asOwner(statement: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx.unsafe("grant update, delete on audit_log to current_user");
    await tx.unsafe("alter table audit_log disable trigger audit_log_append_only");
    await tx.unsafe(statement);
    await tx.unsafe("alter table audit_log enable trigger audit_log_append_only");
    await tx.unsafe("revoke update, delete on audit_log from current_user");
  });
}

test("append-only: the role's UPDATE, DELETE and TRUNCATE are refused, and the trigger refuses them even when granted", async () => {
  const refused = async (statement: string) => {
    try {
      await sql.unsafe(statement);
      return "done";
    } catch (error) {
      return `${(error as { code?: string }).code} ${(error as Error).message}`;
    }
  };
  expect(await refused("update audit_log set actor = 'x' where seq = 1")).toContain("42501 permission denied");
  expect(await refused("delete from audit_log where seq = 1")).toContain("42501 permission denied");
  expect(await refused("truncate audit_log")).toContain("42501 permission denied");
  await sql.unsafe("grant update, delete, truncate on audit_log to current_user");
  try {
    expect(await refused("update audit_log set actor = 'x' where seq = 1")).toContain("append-only: UPDATE refused");
    expect(await refused("delete from audit_log where seq = 1")).toContain("append-only: DELETE refused");
    expect(await refused("truncate audit_log")).toContain("append-only: TRUNCATE refused");
  } finally {
    await sql.unsafe("revoke update, delete, truncate on audit_log from current_user");
  }
  expect((await cli("verify")).code).toBe(0);
});

test("a row changed behind the guards' back: verify exits 1 naming its seq; put back, it verifies again", async () => {
  const [victim] = await sql`select seq::text as seq, details from audit_log where action = 'patient.read' limit 1`;
  await asOwner(`update audit_log set details = details || '{"role":"viewer"}' where seq = ${victim!.seq}`);
  const broken = await cli("verify");
  expect(broken.code).toBe(1);
  expect(broken.out).toContain(`audit chain BROKEN at seq ${victim!.seq} (changed)`);

  await asOwner(`update audit_log set details = '${JSON.stringify(victim!.details)}' where seq = ${victim!.seq}`);
  expect((await cli("verify")).code).toBe(0);
});

test("two rows swapped: reordered; a row deleted: removed, named by its seq; the last one: only an anchor shows it", async () => {
  const swap = async () => {
    await asOwner("update audit_log set seq = seq + 1000000 where seq in (5, 6)");
    await asOwner("update audit_log set seq = case seq when 1000005 then 6 else 5 end where seq in (1000005, 1000006)");
  };
  await swap();
  const swapped = await cli("verify");
  expect(swapped.code).toBe(1);
  expect(swapped.out).toContain("audit chain BROKEN at seq 5 (reordered)");
  await swap();
  expect((await cli("verify")).code).toBe(0);

  await sql`create table removed_row as select * from audit_log where seq = 7`;
  await asOwner("delete from audit_log where seq = 7");
  const removed = await cli("verify");
  expect(removed.code).toBe(1);
  expect(removed.out).toContain("audit chain BROKEN at seq 7 (removed): row 7 is missing");
  await sql`insert into audit_log select * from removed_row`;
  const intact = await cli("verify");
  expect(intact.code).toBe(0);

  // The last row removed leaves no gap: only a head noted earlier (an anchor) shows it.
  const [, headSeq, headHash] = /head seq (\d+) hash ([0-9a-f]{64})/.exec(intact.out)!;
  expect((await cli("verify", "--anchor", `${headSeq}:${headHash}`)).code).toBe(0);
  await asOwner(`delete from audit_log where seq = ${headSeq}`);
  expect((await cli("verify")).code).toBe(0);
  const truncated = await cli("verify", "--anchor", `${headSeq}:${headHash}`);
  expect(truncated.code).toBe(1);
  expect(truncated.out).toContain(`audit chain BROKEN at seq ${headSeq} (removed)`);
});
