// Encryption at rest, end to end (issue #10 item 1): after a patient with a unique email, phone
// and date of birth is ingested, neither a pg_dump of the database, nor the files of JetStream's
// store directory (read in place), nor a Redis DUMP of every key holds any of them in clear, while the API still
// returns the patient and finds it by email and by phone (blind indexes).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { ADMIN, type Cluster, DATABASE_URL, postWebhook, signGeneric, startCluster, waitFor } from "./harness.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1";
let cluster: Cluster;
let redis: Redis;

beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector", "dashboard"]);
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

// Unique to this run, in the forms the sender wrote them and the forms they are stored in.
const n = String(Date.now()).slice(-7);
const email = `rest.${n}@example.com`;
const phoneSent = `0151 ${n}`;
const phone = `+49151${n}`;
const [year, month, day] = [1900 + (Number(n) % 97), 1 + (Number(n) % 12), 1 + (Number(n) % 28)];
const dobSent = `${String(day).padStart(2, "0")}.${String(month).padStart(2, "0")}.${year}`;
const dob = `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
const SECRETS = {
  email,
  "email as sent": email.toUpperCase(),
  phone,
  "phone as sent": phoneSent,
  dob,
  "dob as sent": dobSent,
};
// Stays in clear on purpose (the name search needs it): proves each search below can find a value.
const lastName = `Plaintext${n}`;

const api = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${cluster.services.dashboard!.url}${path}`, {
    ...init,
    headers: { ...ADMIN, "content-type": "application/json", ...init.headers },
  });
  return { status: res.status, body: (await res.json()) as any };
};

/**
 * Which of `SECRETS` (and the clear last name) `haystack` contains: as text, or as the hex a
 * dump writes bytea in (so a value stored unsealed in a bytea column is caught too).
 */
function found(haystack: Buffer): string[] {
  return [...Object.entries(SECRETS), ["last name", lastName]]
    .filter(([, v]) => {
      const bytes = Buffer.from(v!, "utf8");
      return haystack.includes(bytes) || haystack.includes(Buffer.from(bytes.toString("hex")));
    })
    .map(([k]) => k!);
}

/** Every file under `dir`, concatenated. */
/**
 * Every file's bytes under `dir`, read in place while nats-server runs: a file it removes between
 * the listing and the read (a consumer's `meta.inf.tmp`, renamed a moment after it is written)
 * is skipped. (Copying the store first failed that way: cpSync stopped at the vanished file.)
 */
function readTree(dir: string): Buffer {
  const parts: Buffer[] = [];
  const gone = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT";
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      try {
        if (statSync(p).isDirectory()) walk(p);
        else parts.push(readFileSync(p));
      } catch (error) {
        if (!gone(error)) throw error;
      }
    }
  };
  walk(dir);
  return Buffer.concat(parts);
}

function pgDump(): Buffer {
  const base = "/usr/lib/postgresql";
  const version = readdirSync(base)
    .filter((v) => Bun.file(join(base, v, "bin", "pg_dump")).size > 0)
    .sort((a, b) => Number(a) - Number(b))
    .pop();
  if (!version) throw new Error("no pg_dump under /usr/lib/postgresql; run ./ops/setup");
  const p = Bun.spawnSync(
    [join(base, version, "bin", "pg_dump"), "--no-owner", "--enable-row-security", `--dbname=${DATABASE_URL}`],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  if (p.exitCode !== 0) throw new Error(`pg_dump failed: ${p.stderr.toString()}`);
  return p.stdout;
}

test("no email, phone or date of birth in clear in Postgres, JetStream or Redis; the API returns and finds them", async () => {
  // First with the projector stopped, so the webhook sits in WEBHOOKS when the store is copied.
  await cluster.services.projector!.kill();
  const body = {
    type: "form.submitted",
    data: {
      "First name": "Rest",
      "Last name": lastName,
      "E-Mail": email.toUpperCase(),
      Telefon: phoneSent,
      Geburtsdatum: dobSent,
    },
  };
  const res = await postWebhook(cluster.services.ingress!.url, "generic", signGeneric(body, `msg_rest_${n}`));
  expect(res.status).toBe(200);
  const queuedStore = readTree(cluster.nats.store);
  expect(queuedStore.length).toBeGreaterThan(0);
  // The store is encrypted whole: not even the name (in clear in Postgres) is readable in it.
  expect(found(queuedStore)).toEqual([]);

  await cluster.restart("projector");
  const byEmail = await waitFor("patient found by email", async () => {
    const r = await api("/api/v1/patients/search", { method: "POST", body: JSON.stringify({ q: email }) });
    return r.body.items?.[0];
  });
  expect(byEmail).toMatchObject({ email, phone, dateOfBirth: dob, lastName });
  // By phone, in the notation the sender used and in E.164, and by email in capitals.
  for (const q of [phoneSent, phone, email.toUpperCase()]) {
    const r = await api("/api/v1/patients/search", { method: "POST", body: JSON.stringify({ q }) });
    expect([q, r.body.items.map((p: { id: string }) => p.id)]).toEqual([q, [byEmail.id]]);
  }
  // Opened twice: the second read stores it in the Redis cache (services/dashboard/cache-admission.ts), checked below.
  for (let i = 0; i < 2; i++)
    expect((await api(`/api/v1/patients/${byEmail.id}`)).body).toMatchObject({ email, phone, dateOfBirth: dob });
  const raw = (await api("/api/v1/events?include=canonical")).body.items.find(
    (e: { patientId: string }) => e.patientId === byEmail.id,
  );
  expect(raw.canonical.patient).toMatchObject({ email, dateOfBirth: dob });

  // Postgres: the whole database as pg_dump writes it.
  const dump = pgDump();
  expect(found(dump)).toEqual(["last name"]);

  // JetStream: the store after projection (work queue: the message is acknowledged, its blocks may remain).
  expect(found(readTree(cluster.nats.store))).toEqual([]);

  // Redis: DUMP of every key (the cached patient entry among them).
  const keys = await redis.keys("*");
  expect(keys.some((k) => k.startsWith(`hookline:patient:{${byEmail.id}}:entry`))).toBe(true);
  const dumps = await Promise.all(keys.map((k) => redis.dumpBuffer(k)));
  expect(found(Buffer.concat(dumps.filter((d): d is Buffer => d !== null)))).toEqual([]);
}, 120_000);

test("/health/ready reports the age of the current keys", async () => {
  for (const service of [cluster.services.dashboard!, cluster.services.projector!]) {
    const health = (await (await fetch(`${service.url}/health/ready`)).json()) as any;
    expect(health.keys.data).toMatchObject({ current: "test-data-1", ageDays: 0, keys: 1 });
    expect(health.keys.blindIndex).toMatchObject({ current: "test-index-1", ageDays: 0 });
    expect(health.keys.data.warning).toBeUndefined();
  }
});
