// The compiled executable (ops/build → hookline) runs every service with nothing from the
// checkout: it is built into a temp dir, runs with a cwd outside the checkout, migrates a
// fresh database from the SQL embedded in it, and takes a signed webhook through ingress →
// JetStream → projector → Postgres → dashboard API.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, type Sql } from "../../shared/db/client.ts";
import { readMigrations } from "../../shared/db/migrate.ts";
import {
  ADMIN,
  DATABASE_URL,
  type NatsServer,
  postWebhook,
  ROOT,
  type Service,
  serviceEnv,
  signGeneric,
  startNats,
  startService,
  waitFor,
} from "./harness.ts";

const dir = mkdtempSync(join(tmpdir(), "hookline-exe-"));
const exe = join(dir, "hookline");
// The services run here: an empty directory outside the checkout.
const cwd = mkdtempSync(join(tmpdir(), "hookline-exe-cwd-"));
// A schema of its own in the test database: "fresh" without dropping what other tests use.
const schema = `exe_${process.pid}_${Date.now()}`;
const databaseUrl = `${DATABASE_URL}${DATABASE_URL.includes("?") ? "&" : "?"}search_path=${schema}`;

let admin: Sql;
let nats: NatsServer;
let env: Record<string, string>;
const services: Service[] = [];

async function run(args: string[]) {
  const proc = Bun.spawn([exe, ...args], { cwd, env: serviceEnv(env), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  const build = Bun.spawnSync([join(ROOT, "ops/build"), exe], { stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`ops/build failed: ${build.stderr.toString()}`);
  admin = createDb(DATABASE_URL, { name: "hookline-test", max: 1 });
  await admin.unsafe(`create schema ${schema}`);
  nats = await startNats();
  env = { NATS_URL: nats.url, DATABASE_URL: databaseUrl };
});

afterAll(async () => {
  await Promise.all(services.map((s) => s.kill("SIGKILL")));
  await nats?.dispose();
  await admin?.unsafe(`drop schema if exists ${schema} cascade`);
  await admin?.end();
  rmSync(dir, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

describe("dist/hookline", () => {
  test("an unknown subcommand prints the usage on stderr and exits 2; --help exits 0", async () => {
    const bad = await run(["ingres"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown command "ingres"');
    expect(bad.stderr).toContain("usage: hookline");
    const help = await run(["projector", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("hookline projector:");
  });

  test("provision migrates a fresh database from the embedded SQL and creates the streams", async () => {
    const res = await run(["provision"]);
    expect(res.code, res.stderr).toBe(0);
    const applied = await admin.unsafe(`select version from ${schema}.schema_migrations order by version`);
    expect(applied.map((r) => r.version)).toEqual(readMigrations().map((m) => m.version));
    const streams = await (await fetch(`${nats.monitorUrl}/jsz?streams=true`)).json();
    const names = streams.account_details[0].stream_detail.map((s: { name: string }) => s.name).sort();
    expect(names).toEqual(["WEBHOOKS", "WEBHOOKS_DLQ"]);
    // Idempotent: a second run changes nothing and succeeds.
    expect((await run(["provision"])).code).toBe(0);
  });

  test("ingress, projector and dashboard become ready and a signed webhook becomes a patient", async () => {
    for (const name of ["ingress", "projector", "dashboard"] as const) {
      services.push(await startService(name, env, { command: [exe, name], cwd }));
    }
    for (const s of services) {
      await waitFor(`${s.name} ready`, async () => (await fetch(`${s.url}/health/ready`)).status === 200);
    }
    const [ingress, , dashboard] = services as [Service, Service, Service];
    const page = await fetch(`${dashboard.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<title>hookline</title>");

    const body = {
      type: "form.submitted",
      data: { "First name": "Grace", "Last name": "Hopper", "E-Mail": "grace@example.com" },
    };
    const res = await postWebhook(ingress.url, "generic", signGeneric(body, "msg_executable_1"));
    expect(res.status).toBe(200);
    const found = await waitFor("the patient in the dashboard API", async () => {
      const r = await fetch(`${dashboard.url}/api/v1/patients?q=grace%40example.com`, { headers: ADMIN });
      const json = (await r.json()) as { items: { email: string; firstName?: string }[] };
      return json.items.length === 1 ? json.items[0] : undefined;
    });
    expect(found.email).toBe("grace@example.com");
  });
});
