// TLS to NATS, Postgres and Redis with certificates made for this run (makeTestPki): a
// nats-server demanding TLS and client certificates, a private Postgres with ssl=on and only
// hostssl lines (clientcert=verify-full), a redis-server on its TLS port only with client
// certificates required. The three services connect verifying the servers and a signed webhook
// becomes a patient; each server reports TLS 1.3 for the services' connections; a server whose
// certificate comes from a CA the services do not trust is refused with a clear error; with
// HOOKLINE_ENV=production a plain connection to a remote host stops a service that makes it (and
// only such a service); against a server capped at TLS 1.2, 1.2 is used unless
// TLS_MIN_VERSION=TLSv1.3 forbids it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import Redis from "ioredis";
import { createDb } from "../../shared/db/client.ts";
import { loadConnectionTls, type TlsSettings } from "../../shared/tls.ts";
import {
  ADMIN,
  freePort,
  makeTestPki,
  type NatsServer,
  type PostgresServer,
  postWebhook,
  type RedisServer,
  runCommand,
  type Service,
  serviceEnv,
  signGeneric,
  startNats,
  startPostgresServer,
  startRedisServer,
  startService,
  type TestPki,
  waitFor,
} from "./harness.ts";

let pki: TestPki;
let nats: NatsServer;
let pg: PostgresServer;
let redis: RedisServer;
/** Every connection over TLS, verifying the servers against the test CA, with client certificates. */
let env: Record<string, string>;
const services: Service[] = [];

beforeAll(async () => {
  pki = makeTestPki();
  const tls = { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.ca };
  [nats, pg, redis] = await Promise.all([startNats({ tls }), startPostgresServer({ tls }), startRedisServer({ tls })]);
  const client = (prefix: string) => ({
    [`${prefix}_TLS_CA`]: pki.ca,
    [`${prefix}_TLS_CERT`]: pki.clientCert,
    [`${prefix}_TLS_KEY`]: pki.clientKey,
  });
  env = {
    NATS_URL: nats.url,
    ...client("NATS"),
    DATABASE_URL: `${pg.url}?sslmode=verify-full`,
    ...client("DATABASE"),
    REDIS_URL: `${redis.url}/0`,
    ...client("REDIS"),
  };
}, 60_000);

afterAll(async () => {
  await Promise.all(services.map((s) => s.kill("SIGKILL")));
  await Promise.all([nats?.dispose(), pg?.stop(), redis?.stop()]);
  pki?.dispose();
});

/** Runs a service that is expected to stop at start; its exit code and output (bounded at 30 s). */
async function runToExit(name: "ingress" | "projector", extra: Record<string, string>) {
  const { code, stdout, stderr } = await runCommand(["bun", `services/${name}/main.ts`], {
    env: serviceEnv({ PORT: String(await freePort()), ...extra }),
    timeoutMs: 30_000,
  });
  return { code, output: stdout + stderr };
}

/** The TLS options the services would build from `env` (and `extra`), for the test's own clients. */
const testTls = (extra: Partial<TlsSettings> = {}) =>
  loadConnectionTls({
    allowInsecureConnections: false,
    tlsMinVersion: "TLSv1.2",
    databaseUrl: env.DATABASE_URL,
    databaseTlsCa: env.DATABASE_TLS_CA,
    databaseTlsCert: env.DATABASE_TLS_CERT,
    databaseTlsKey: env.DATABASE_TLS_KEY,
    redisUrl: env.REDIS_URL,
    redisTlsCa: env.REDIS_TLS_CA,
    redisTlsCert: env.REDIS_TLS_CERT,
    redisTlsKey: env.REDIS_TLS_KEY,
    ...extra,
  });

describe("every connection over verified TLS", () => {
  test("the services connect with verification and a signed webhook becomes a patient; TLS 1.3 on all three", async () => {
    // The projector first: it migrates the TLS Postgres and provisions the streams.
    const projector = await startService("projector", env);
    services.push(projector);
    await waitFor("projector ready", async () => (await fetch(`${projector.url}/health/ready`)).ok);
    const ingress = await startService("ingress", env);
    const dashboard = await startService("dashboard", env);
    services.push(ingress, dashboard);
    await waitFor("dashboard ready", async () => (await fetch(`${dashboard.url}/health/ready`)).ok);

    const email = `tls.${Date.now()}@example.com`;
    const res = await postWebhook(
      ingress.url,
      "generic",
      signGeneric({ data: { "First name": "Ada", "Last name": "Tls", "E-Mail": email } }, `msg_tls_${Date.now()}`),
    );
    expect(res.status).toBe(200);
    const patient = await waitFor("the patient in the dashboard API", async () => {
      const r = await fetch(`${dashboard.url}/api/v1/patients?q=${encodeURIComponent(email)}`, { headers: ADMIN });
      const body = (await r.json()) as { items: { id: string; email: string }[] };
      return body.items[0];
    });
    expect(patient.email).toBe(email);
    // Read twice: the dashboard caches it in Redis on the way.
    for (let i = 0; i < 2; i++)
      expect((await fetch(`${dashboard.url}/api/v1/patients/${patient.id}`, { headers: ADMIN })).status).toBe(200);

    // Postgres: the services' sessions are TLS 1.3 and presented the client certificate.
    const sessions = pg
      .psql(
        "select a.application_name || ' ' || s.ssl || ' ' || s.version || ' ' || coalesce(s.client_dn, '-') " +
          "from pg_stat_ssl s join pg_stat_activity a using (pid) where a.application_name like 'hookline-%' " +
          "order by 1",
      )
      .trim()
      .split("\n");
    expect(new Set(sessions)).toEqual(
      new Set(["hookline-dashboard true TLSv1.3 /CN=hookline", "hookline-projector true TLSv1.3 /CN=hookline"]),
    );

    // NATS: both clients' connections are TLS 1.3 (nats-server's /connz reports the version).
    const connz = (await (await fetch(`${nats.monitorUrl}/connz`)).json()) as {
      connections: { name: string; tls_version?: string }[];
    };
    const natsClients = Object.fromEntries(connz.connections.map((c) => [c.name, c.tls_version]));
    expect(natsClients).toMatchObject({ "hookline-ingress": "1.3", "hookline-projector": "1.3" });

    // Redis listens on its TLS port only: the dashboard's cache entry and the three services'
    // connections (the ingress's for shared rate limits) got there over TLS. The test's own
    // client, built by the same code, negotiates 1.3.
    const r = new Redis(env.REDIS_URL!, { tls: (await testTls()).redis, lazyConnect: true });
    try {
      await r.connect();
      expect((r.stream as TLSSocket).getProtocol()).toBe("TLSv1.3");
      expect(await r.exists(`hookline:patient:{${patient.id}}:entry`)).toBe(1);
      const names = String(await r.call("CLIENT", "LIST"));
      for (const service of ["dashboard", "projector", "ingress"]) expect(names).toContain(`name=hookline-${service}`);
    } finally {
      r.disconnect();
    }
  }, 120_000);

  test("a server certificate from a CA the service does not trust is refused with a clear error", async () => {
    // NATS: the ingress stops at start and says whose certificate and which variable.
    const ingress = await runToExit("ingress", { ...env, NATS_TLS_CA: pki.otherCa });
    expect(ingress.code).not.toBe(0);
    expect(ingress.output).toMatch(
      /the NATS server's TLS certificate was refused: .*\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
    );
    expect(ingress.output).toMatch(/issued by a CA in NATS_TLS_CA/);
    // Postgres: the projector's migration at start fails on the certificate.
    const projector = await runToExit("projector", { ...env, DATABASE_TLS_CA: pki.otherCa });
    expect(projector.code).not.toBe(0);
    expect(projector.output).toMatch(/the Postgres server's TLS certificate was refused: .*DATABASE_TLS_CA/);
    // Redis: the dashboard runs, is not ready, and logs why.
    const dashboard = await startService("dashboard", { ...env, REDIS_TLS_CA: pki.otherCa });
    services.push(dashboard);
    const ready = await fetch(`${dashboard.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, boolean> }).checks).toMatchObject({
      postgres: true,
      redis: false,
    });
    await waitFor("the Redis refusal in the log", () =>
      /the Redis server's TLS certificate was refused: .*REDIS_TLS_CA/.test(dashboard.output()),
    );
    // No refusal quotes a certificate or key.
    for (const output of [ingress.output, projector.output, dashboard.output()]) expect(output).not.toContain("BEGIN");
  }, 120_000);

  test("HOOKLINE_ENV=production judges the connections a service makes: a plain remote one stops it", async () => {
    // Production refuses the dev sources and tokens: a source whose secret comes from the env.
    const sources = join(pki.dir, "sources.json");
    writeFileSync(
      sources,
      JSON.stringify({
        sources: [
          {
            id: "generic",
            adapter: "generic",
            auth: { scheme: "standard-webhooks", secrets: [{ env: "TLS_TEST_SECRET" }] },
          },
        ],
      }),
    );
    const production = {
      ...env,
      HOOKLINE_ENV: "production",
      HOOKLINE_SOURCES: sources,
      TLS_TEST_SECRET: `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`,
      DASHBOARD_API_TOKENS: `${crypto.randomUUID()}=admin`,
      PUBLIC_WEBHOOK_BASE_URL: "https://hooks.example.com",
      // Not loopback, no TLS.
      NATS_URL: "nats://10.255.255.1:4222",
      NATS_TLS_CA: "",
      NATS_TLS_CERT: "",
      NATS_TLS_KEY: "",
    };
    const ingress = await runToExit("ingress", production);
    expect(ingress.code).not.toBe(0);
    expect(ingress.output).toContain("NATS_URL connects to 10.255.255.1 without TLS");
    expect(ingress.output).toContain("ALLOW_INSECURE_CONNECTIONS=true");
    // The dashboard connects to NATS only when first needed (sources, dead letters): it starts,
    // its Postgres (verify-full) and Redis (rediss://) connections verified.
    const dashboard = await startService("dashboard", production);
    services.push(dashboard);
    await waitFor("the production dashboard ready", async () => (await fetch(`${dashboard.url}/health/ready`)).ok);
  }, 60_000);

  test("a server capped at TLS 1.2 gets 1.2, unless TLS_MIN_VERSION=TLSv1.3 refuses it", async () => {
    pg.psql("alter system set ssl_max_protocol_version = 'TLSv1.2'");
    pg.psql("select pg_reload_conf()");
    try {
      const tls12 = createDb(env.DATABASE_URL!, { name: "hookline-test-tls", max: 1, tls: (await testTls()).postgres });
      try {
        const [row] = await tls12`select version from pg_stat_ssl where pid = pg_backend_pid()`;
        expect(row!.version).toBe("TLSv1.2");
      } finally {
        await tls12.end();
      }
      const tls13 = createDb(env.DATABASE_URL!, {
        name: "hookline-test-tls",
        max: 1,
        tls: (await testTls({ tlsMinVersion: "TLSv1.3" })).postgres,
      });
      try {
        await expect(tls13`select 1`).rejects.toThrow(/protocol|version/i);
      } finally {
        await tls13.end();
      }
    } finally {
      pg.psql("alter system reset ssl_max_protocol_version");
      pg.psql("select pg_reload_conf()");
    }
  }, 60_000);
});
