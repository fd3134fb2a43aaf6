// Key rotation under load (issue #10 item 2): webhooks keep arriving while the services are
// restarted with a new current key and `hookline keys rotate` re-seals the rows still on the old
// one; then the same for the blind-index key (`keys rotate --blind-index`). Afterwards no row is
// on an old key, every patient opens and is found by email with the old keys removed.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { newKeyText } from "../../shared/crypto/keyring.ts";
import { SEALED_TABLES } from "../../shared/db/sealed.ts";
import { keyEnv } from "../keys.ts";
import {
  ADMIN,
  type Cluster,
  DATABASE_URL,
  postWebhook,
  runCommand,
  serviceEnv,
  signGeneric,
  startCluster,
  waitFor,
} from "./harness.ts";

const D1 = newKeyText("data-1", new Date(Date.now() - 100 * 86_400_000)); // past the 90 days
const D2 = newKeyText("data-2");
const I1 = newKeyText("index-1");
const I2 = newKeyText("index-2");

let cluster: Cluster;
/** Webhooks accepted so far, by every load of this file; the emails of the first test. */
let posted = 0;
const first: string[] = [];
beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector", "dashboard"], keyEnv(D1, I1));
});
afterAll(() => cluster?.stop());

/** Posts webhooks until stopped: new patients, and updates of earlier ones. Returns the emails sent. */
function steadyLoad() {
  const sent: string[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      // Every third submission updates an earlier patient (same email, same name: merged).
      const n = i % 3 === 2 ? Math.floor(i / 3) : i;
      const email = `rot.${n}@example.com`;
      const body = {
        type: "form.submitted",
        data: { "First name": `Rot${n}`, "Last name": "Ation", "E-Mail": email, Telefon: `0151 ${1_000_000 + i}` },
      };
      const res = await postWebhook(
        cluster.services.ingress!.url,
        "generic",
        signGeneric(body, `msg_rot_${posted}_${i}`),
      );
      if (res.status !== 200) throw new Error(`webhook ${i} answered ${res.status}`);
      posted++;
      if (!sent.includes(email)) sent.push(email);
      await Bun.sleep(15);
    }
  })();
  return {
    sent,
    async stop() {
      running = false;
      await done;
    },
  };
}

async function keysCli(args: string[], keys: Record<string, string>) {
  const { code, stdout, stderr } = await runCommand(["bun", "ops/hookline.ts", "keys", ...args], {
    env: { ...serviceEnv(keys), DATABASE_URL },
  });
  return { out: stdout, err: stderr, code };
}

/** Rows with a sealed value or blind index under a key other than the given current ones, or a value in clear. */
async function rowsOffKeys(data: string, index: string): Promise<Record<string, number>> {
  const off: Record<string, number> = {};
  for (const t of SEALED_TABLES) {
    const clauses = [
      ...t.columns.flatMap((c) => [
        `(${c.column} is not null and hookline_key_id(${c.column}) <> '${data}')`,
        `${c.legacy} is not null`,
      ]),
      // Fields sealed together (018): the packed column on the current key, none left in their own columns.
      ...(t.packed
        ? [
            `(${t.packed.column} is not null and hookline_key_id(${t.packed.column}) <> '${data}')`,
            ...t.packed.parts.flatMap((p) => [`${p.sealed.column} is not null`, `${p.sealed.legacy} is not null`]),
          ]
        : []),
      ...t.blindIndexes.map((b) => `(${b.column} is not null and hookline_key_id(${b.column}) <> '${index}')`),
    ];
    const [row] = await cluster.sql.unsafe(`select count(*)::int as n from ${t.table} where ${clauses.join(" or ")}`);
    if (row!.n > 0) off[t.table] = row!.n;
  }
  return off;
}

const allProjected = () =>
  waitFor(
    "every webhook projected",
    async () => (await cluster.sql`select count(*)::int as n from webhook_events`)[0]!.n === posted,
    60_000,
  );

const api = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${cluster.services.dashboard!.url}${path}`, {
    ...init,
    headers: { ...ADMIN, "content-type": "application/json", ...init.headers },
  });
  return { status: res.status, body: (await res.json()) as any };
};

/** Every email sent is found (by its blind index) and its patient opens. */
async function everyPatientReadable(emails: string[]) {
  expect((await cluster.sql`select count(*)::int as n from patients`)[0]!.n).toBe(emails.length);
  for (const email of emails) {
    const found = await api("/api/v1/patients/search", { method: "POST", body: JSON.stringify({ q: email }) });
    expect([email, found.status, found.body.items?.length]).toEqual([email, 200, 1]);
    const patient = await api(`/api/v1/patients/${found.body.items[0].id}`);
    expect([email, patient.status, patient.body.email]).toEqual([email, 200, email]);
  }
}

test("data key: rotated online under load; no row left on the old key; readable without it", async () => {
  const health = (await (await fetch(`${cluster.services.projector!.url}/health/ready`)).json()) as any;
  expect(health.keys.data).toMatchObject({ current: "data-1", ageDays: 100 });
  expect(health.keys.data.warning).toContain("older than 90 days");

  const load = steadyLoad();
  await waitFor("patients on the old key", async () => (await rowsOffKeys("data-2", "index-1")).patients! >= 20);
  // The new key first, the old one still listed: services read both and write the new one.
  const rotated = keyEnv(`${D2},${D1}`, I1);
  await cluster.restart("projector", rotated);
  await cluster.restart("dashboard", rotated);
  const cli = await keysCli(["rotate", "--batch-size", "7"], rotated);
  expect([cli.code, cli.err]).toEqual([0, expect.stringContaining('to move to data key "data-2"')]);
  expect(cli.out).toContain('every row is on data key "data-2". The older key(s) data-1 can now be removed');
  await load.stop();
  expect(load.sent.length).toBeGreaterThan(20);

  await allProjected();
  expect(await rowsOffKeys("data-2", "index-1")).toEqual({});
  // The audit trail has the rotation (no key, no patient data).
  // The newest: the append-only log keeps the rotations of earlier runs.
  const [audit] = await cluster.sql`
    select actor, entity_id, details from audit_log where action = 'keys.rotate' order by seq desc limit 1`;
  expect(audit).toMatchObject({ entity_id: "data-2" });
  expect(JSON.stringify(audit)).not.toContain(D2.split(":")[1]!);

  // The old key removed from the keyring: everything still opens.
  await cluster.restart("dashboard", keyEnv(D2, I1));
  await everyPatientReadable(load.sent);
  first.push(...load.sent);
}, 180_000);

test("blind-index key: rebuilt online under load; lookups work during and after; none left on the old key", async () => {
  const load = steadyLoad();
  await Bun.sleep(500);
  const rotated = keyEnv(D2, `${I2},${I1}`);
  await cluster.restart("projector", rotated);
  await cluster.restart("dashboard", rotated);
  // During the rebuild, patients indexed under either key are found.
  const before = (await cluster.sql`select count(*)::int as n from patients`)[0]!.n;
  expect(before).toBeGreaterThan(0);
  const cli = await keysCli(["rotate", "--blind-index"], rotated);
  expect([cli.code, cli.out]).toEqual([0, expect.stringContaining('every row is on blind-index key "index-2"')]);
  await load.stop();
  await allProjected();
  expect(await rowsOffKeys("data-2", "index-2")).toEqual({});
  // One patient per email: no second patient was created for an email indexed under the old key.
  const [dupes] = await cluster.sql`select count(*)::int as n from (
    select email_bidx from patients group by email_bidx having count(*) > 1) d`;
  expect(dupes!.n).toBe(0);

  await cluster.restart("dashboard", keyEnv(D2, I2));
  await everyPatientReadable([...new Set([...first, ...load.sent])]);
}, 180_000);
