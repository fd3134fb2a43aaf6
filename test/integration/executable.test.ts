// The compiled executable (ops/build → hookline) runs every service with nothing from the
// checkout: it is built into a temp dir, runs with a cwd outside the checkout, migrates a
// fresh database from the SQL embedded in it, and takes a signed webhook through ingress →
// JetStream → projector → Postgres → dashboard API. The same again with the image
// (ops/image, ops/Containerfile) run by podman with a read-only root filesystem.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dashboardConfigSpec } from "../../services/dashboard/config.ts";
import { createDb, type Sql } from "../../shared/db/client.ts";
import { readMigrations } from "../../shared/db/migrate.ts";
import { SOURCES_BUCKET } from "../../shared/nats.ts";
import {
  ADMIN,
  DATABASE_URL,
  type NatsServer,
  postWebhook,
  ROOT,
  runCommand,
  type Service,
  serviceEnv,
  signGeneric,
  startNats,
  startService,
  waitFor,
} from "./harness.ts";

const RUNC = Bun.which("runc") ?? "runc";
const PODMAN = ["podman", "--storage-driver=vfs", "--runtime", RUNC, "--cgroup-manager=cgroupfs"];
const hasPodman = Bun.which("podman") !== null && Bun.which("runc") !== null;
const IMAGE = `localhost/hookline:test-${process.pid}`;

interface Runner {
  /** Builds what runs; returns the argv prefix that runs `hookline <args>`. */
  build(): Promise<(name: string) => string[]>;
  cleanup(): Promise<void>;
  /** Tests of what was built, run after the build. */
  checks?: () => void;
}

function spawnOk(argv: string[]) {
  const res = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (res.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${res.stderr.toString()}`);
}

const dir = mkdtempSync(join(tmpdir(), "hookline-exe-"));
// The processes run here: an empty directory outside the checkout.
const cwd = mkdtempSync(join(tmpdir(), "hookline-exe-cwd-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

const executable: Runner = {
  async build() {
    const exe = join(dir, "hookline");
    spawnOk([join(ROOT, "ops/build"), exe]);
    return () => [exe];
  },
  async cleanup() {},
};

const containers: string[] = [];
const image: Runner = {
  async build() {
    spawnOk([join(ROOT, "ops/image"), IMAGE]);
    // The container sees the caller's environment (--env-host: the harness's PORT,
    // DATABASE_URL, …) and the sources file, read-only, at the same path.
    return (name) => {
      const container = `hookline-test-${process.pid}-${containers.length}-${name}`;
      containers.push(container);
      const sources = serviceEnv().HOOKLINE_SOURCES!;
      return [
        ...PODMAN,
        "run",
        "--rm",
        `--name=${container}`,
        "--read-only",
        "--network=host",
        "--ulimit=nofile=20000:20000",
        "--ulimit=nproc=1000:1000",
        "--env-host",
        "--env=PATH=/",
        `--volume=${sources}:${sources}:ro`,
        IMAGE,
      ];
    };
  },
  checks() {
    test("the image runs as a non-root user, /hookline as its entrypoint, with OCI labels", () => {
      const res = Bun.spawnSync([...PODMAN, "image", "inspect", "--format", "{{json .Config}}", IMAGE]);
      const config = JSON.parse(res.stdout.toString()) as {
        User: string;
        Entrypoint: string[];
        Labels: Record<string, string>;
      };
      expect(config.User).toBe("65532:65532");
      expect(config.Entrypoint).toEqual(["/hookline"]);
      expect(config.Labels["org.opencontainers.image.title"]).toBe("hookline");
      expect(config.Labels["org.opencontainers.image.version"]).toMatch(/^\d+\.\d+\.\d+/);
    });
  },
  async cleanup() {
    if (containers.length) Bun.spawnSync([...PODMAN, "rm", "--force", "--ignore", ...containers]);
    Bun.spawnSync([...PODMAN, "rmi", "--force", "--ignore", IMAGE]);
  },
};

function suite(label: string, runner: Runner) {
  describe(label, () => {
    // A schema of its own in the test database: "fresh" without touching what other tests use.
    const schema = `exe_${process.pid}_${label.replace(/\W/g, "")}`;
    const databaseUrl = `${DATABASE_URL}${DATABASE_URL.includes("?") ? "&" : "?"}search_path=${schema}`;
    let admin: Sql;
    let nats: NatsServer;
    let env: Record<string, string>;
    let argv: (name: string) => string[];
    const services: Service[] = [];

    async function run(args: string[]) {
      return runCommand([...argv(args[0] ?? ""), ...args], { cwd, env: serviceEnv(env) });
    }

    beforeAll(async () => {
      argv = await runner.build();
      admin = createDb(DATABASE_URL, { name: "hookline-test", max: 1 });
      await admin.unsafe(`create schema ${schema}`);
      nats = await startNats();
      env = { NATS_URL: nats.url, DATABASE_URL: databaseUrl };
    });

    afterAll(async () => {
      await Promise.all(services.map((s) => s.kill("SIGKILL")));
      await runner.cleanup();
      await nats?.dispose();
      await admin?.unsafe(`drop schema if exists ${schema} cascade`);
      await admin?.end();
    });

    test("an unknown subcommand prints the usage on stderr and exits 2; --help exits 0", async () => {
      const bad = await run(["ingres"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('unknown command "ingres"');
      expect(bad.stderr).toContain("usage: hookline");
      const help = await run(["projector", "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("hookline projector:");
      // Every variable the dashboard reads is named in its help (the README sends operators there).
      const dashboardHelp = (await run(["dashboard", "--help"])).stdout;
      for (const e of Object.values(dashboardConfigSpec)) expect(dashboardHelp).toContain(e.name);
    });

    test("provision migrates a fresh database from the embedded SQL and creates the streams", async () => {
      const res = await run(["provision"]);
      expect(res.code, res.stderr).toBe(0);
      const applied = await admin.unsafe(`select version from ${schema}.schema_migrations order by version`);
      expect(applied.map((r) => r.version)).toEqual(readMigrations().map((m) => m.version));
      const streams = await (await fetch(`${nats.monitorUrl}/jsz?streams=true`)).json();
      const names = streams.account_details[0].stream_detail.map((s: { name: string }) => s.name).sort();
      // And the runtime sources' bucket (a KV bucket is a stream).
      expect(names).toEqual([`KV_${SOURCES_BUCKET}`, "WEBHOOKS", "WEBHOOKS_DLQ"]);
      // Idempotent: a second run changes nothing and succeeds.
      expect((await run(["provision"])).code).toBe(0);
      // The projector consumer's ack wait, as the projector would set it when it provisions.
      const ackWait = async () => {
        const jsz = await (await fetch(`${nats.monitorUrl}/jsz?consumers=true&config=true`)).json();
        const stream = jsz.account_details[0].stream_detail.find((d: { name: string }) => d.name === "WEBHOOKS");
        return stream.consumer_detail[0].config.ack_wait / 1e9;
      };
      expect(await ackWait()).toBe(30);
      const longer = await runCommand([...argv("provision"), "provision"], {
        cwd,
        env: serviceEnv({ ...env, ACK_WAIT_SECONDS: "45" }),
      });
      expect(longer.code, longer.stderr).toBe(0);
      expect(await ackWait()).toBe(45);
    });

    test("the operators' commands run from it: a token made by `tokens create` is listed without its secret; the audit chain verifies", async () => {
      const name = `exe-${label.replace(/\W/g, "")}-${process.pid}`;
      const created = await run(["tokens", "create", "--name", name, "--role", "viewer", "--json"]);
      expect(created.code, created.stderr).toBe(0);
      const record = JSON.parse(created.stdout) as { name: string; role: string; token: string };
      expect(record).toMatchObject({ name, role: "viewer" });
      expect(record.token).toMatch(/^hl_/);
      const listed = await run(["tokens", "list", "--json"]);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toContain(name);
      expect(listed.stdout).not.toContain(record.token);
      const verified = await run(["audit", "verify"]);
      expect(verified.code, verified.stderr).toBe(0);
      // Their usage errors exit 2, as from ops/hookline.
      expect((await run(["tokens", "create"])).code).toBe(2);
    });

    test("ingress, projector and dashboard become ready and a signed webhook becomes a patient", async () => {
      for (const name of ["ingress", "projector", "dashboard"] as const) {
        services.push(await startService(name, env, { command: [...argv(name), name], cwd }));
      }
      for (const s of services) {
        await waitFor(`${s.name} ready`, async () => (await fetch(`${s.url}/health/ready`)).status === 200);
      }
      const [ingress, , dashboard] = services as [Service, Service, Service];
      const page = await fetch(`${dashboard.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>hookline</title>");

      const email = `grace.${label.replace(/\W/g, "")}@example.com`;
      const body = { type: "form.submitted", data: { "First name": "Grace", "Last name": "Hopper", "E-Mail": email } };
      const res = await postWebhook(ingress.url, "generic", signGeneric(body, `msg_executable_${label}`));
      expect(res.status).toBe(200);
      const found = await waitFor("the patient in the dashboard API", async () => {
        const r = await fetch(`${dashboard.url}/api/v1/patients?q=${encodeURIComponent(email)}`, { headers: ADMIN });
        const json = (await r.json()) as { items: { email: string }[] };
        return json.items.length === 1 ? json.items[0] : undefined;
      });
      expect(found.email).toBe(email);
    });

    runner.checks?.();
  });
}

suite("dist/hookline", executable);
// ops/setup installs podman and runc: missing, this is a failure, not a skip.
test("podman and runc are installed (ops/setup)", () => expect(hasPodman).toBe(true));
suite("image (podman, read-only root)", image);
