// shared/tls.ts without servers: which connections encrypt and what they verify, the options
// handed to the clients, the files' errors (variable and path, never content), and the
// production rule for connections that leave the host. The PEM files come from makeTestPki
// (the openssl CLI); resolving host names is replaced by a table.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, commonConfig, databaseTlsConfig, readConfig, redisTlsConfig } from "../../shared/config.ts";
import {
  explainTlsFailure,
  isLocalHost,
  isLoopbackAddress,
  loadConnectionTls,
  planConnections,
  type Resolve,
  type TlsSettings,
  urlHosts,
} from "../../shared/tls.ts";
import { makeTestPki, type TestPki } from "../integration/harness.ts";

const base: TlsSettings = { allowInsecureConnections: false, tlsMinVersion: "TLSv1.2" };
const plan = (s: Partial<TlsSettings>) => planConnections({ ...base, ...s });
const only = (s: Partial<TlsSettings>) => {
  const { plans, problems } = plan(s);
  expect(problems).toEqual([]);
  expect(plans).toHaveLength(1);
  return plans[0]!;
};

/** Resolves from a table; a name not in it does not resolve. */
const table =
  (names: Record<string, string[]>): Resolve =>
  async (host) => {
    if (!names[host]) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return names[host];
  };
const noDns: Resolve = async (host) => {
  throw new Error(`unexpected lookup of ${host}`);
};

/** The problems loadConnectionTls reports (it throws ConfigError), or [] when it succeeds. */
async function problemsOf(s: Partial<TlsSettings>, resolve: Resolve = noDns): Promise<string[]> {
  try {
    await loadConnectionTls({ ...base, ...s }, undefined, resolve);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

let pki: TestPki;
let dir: string;
beforeAll(() => {
  pki = makeTestPki();
  dir = mkdtempSync(join(tmpdir(), "hookline-tls-unit-"));
});
afterAll(() => {
  pki?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("which connections encrypt, and what they verify", () => {
  test("plain by default: nats://, a DATABASE_URL without sslmode, redis://", () => {
    const { plans, problems } = plan({
      natsUrl: "nats://127.0.0.1:4222",
      databaseUrl: "postgres://u:p@127.0.0.1:5432/db",
      redisUrl: "redis://127.0.0.1:6379",
    });
    expect(problems).toEqual([]);
    expect(plans.map((p) => [p.kind, p.tls])).toEqual([
      ["nats", undefined],
      ["postgres", undefined],
      ["redis", undefined],
    ]);
  });

  test("NATS: tls:// on any server, or any NATS_TLS_* file, turns on verified TLS for all", () => {
    expect(only({ natsUrl: "nats://a:4222,tls://b:4222" }).tls).toEqual({ verify: "full" });
    expect(only({ natsUrl: "nats://a:4222", natsTlsCa: "/ca.pem" }).tls).toEqual({ verify: "full" });
  });

  test("Redis: rediss:// or a REDIS_TLS_* file turns on verified TLS", () => {
    expect(only({ redisUrl: "rediss://r:6380/0" }).tls).toEqual({ verify: "full" });
    expect(only({ redisUrl: "redis://r:6379", redisTlsCa: "/ca.pem" }).tls).toEqual({ verify: "full" });
  });

  test("Postgres follows libpq's sslmode; DATABASE_TLS_* alone means verify-full", () => {
    const pg = (query: string, files: Partial<TlsSettings> = {}) =>
      only({ databaseUrl: `postgres://u:p@db:5432/x${query}`, ...files }).tls;
    expect(pg("?sslmode=disable")).toBeUndefined();
    expect(pg("?sslmode=prefer")).toEqual({ verify: "none", mode: "prefer" });
    expect(pg("?sslmode=require")).toEqual({ verify: "none", mode: "require" });
    expect(pg("?sslmode=verify-ca")).toEqual({ verify: "chain", mode: "verify-ca" });
    expect(pg("?sslmode=verify-full")).toEqual({ verify: "full", mode: "verify-full" });
    expect(pg("", { databaseTlsCa: "/ca.pem" })).toEqual({ verify: "full", mode: "verify-full" });
    // As libpq: require with a root certificate checks the chain.
    expect(pg("?sslmode=require", { databaseTlsCa: "/ca.pem" })).toEqual({ verify: "chain", mode: "verify-ca" });
  });

  test("contradictions and misplaced parameters are problems that name variables, not the URL's password", () => {
    const url = "postgres://u:s3cret@db:5432/x";
    const problems = [
      ...plan({ databaseUrl: `${url}?sslmode=disable`, databaseTlsCa: "/ca.pem" }).problems,
      ...plan({ databaseUrl: `${url}?sslmode=verify_full` }).problems,
      ...plan({ databaseUrl: `${url}?sslmode=verify-full&sslrootcert=/ca.pem` }).problems,
      ...plan({ natsUrl: "tls://n:4222", natsTlsCert: "/c.pem" }).problems,
      ...plan({ redisUrl: "rediss://r:6380", redisTlsKey: "/k.pem" }).problems,
    ];
    expect(problems).toEqual([
      "DATABASE_TLS_CA is set but DATABASE_URL has sslmode=disable",
      "DATABASE_URL: sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full",
      "DATABASE_URL: sslrootcert cannot be given in the URL; set DATABASE_TLS_CA, DATABASE_TLS_CERT and DATABASE_TLS_KEY to the files instead",
      "NATS_TLS_CERT needs NATS_TLS_KEY (the client certificate's key)",
      "REDIS_TLS_KEY needs REDIS_TLS_CERT (the key's client certificate)",
    ]);
    expect(problems.join("\n")).not.toContain("s3cret");
  });

  test("urlHosts: every host of a URL, without credentials, ports or brackets", () => {
    expect(urlHosts("postgres://u:p@DB.example:5432/x?sslmode=require")).toEqual(["db.example"]);
    expect(urlHosts("postgres://u:p@h1:5432,h2:5433/x")).toEqual(["h1", "h2"]);
    expect(urlHosts("nats://user:pa:ss@[::1]:4222")).toEqual(["::1"]);
    expect(urlHosts("redis://:pw@redis-master:6379/0")).toEqual(["redis-master"]);
    expect(urlHosts("postgres:///x")).toEqual(["localhost"]);
  });
});

describe("the options handed to the clients", () => {
  test("verified TLS: the CA replaces the system's, client certificate and key, TLS_MIN_VERSION, no override of the host check", async () => {
    const tls = await loadConnectionTls({
      ...base,
      tlsMinVersion: "TLSv1.3",
      natsUrl: "tls://127.0.0.1:4222",
      natsTlsCa: pki.ca,
      natsTlsCert: pki.clientCert,
      natsTlsKey: pki.clientKey,
      databaseUrl: "postgres://u:p@127.0.0.1/x?sslmode=verify-full",
      databaseTlsCa: pki.ca,
      redisUrl: "rediss://127.0.0.1:6380",
    });
    for (const options of [tls.nats, tls.postgres, tls.redis] as Record<string, unknown>[]) {
      expect(options.minVersion).toBe("TLSv1.3");
      expect(options.rejectUnauthorized).toBe(true);
      expect(options.checkServerIdentity).toBeUndefined();
    }
    expect(tls.nats).toMatchObject({ ca: expect.stringContaining("BEGIN CERTIFICATE") });
    expect(tls.nats?.cert).toContain("BEGIN CERTIFICATE");
    expect(tls.nats?.key).toContain("PRIVATE KEY");
    expect(tls.postgres).toMatchObject({ ca: expect.stringContaining("BEGIN CERTIFICATE") });
    // No REDIS_TLS_CA: the system's CAs decide (no ca option at all).
    expect(tls.redis).not.toHaveProperty("ca");
  });

  test("Postgres: verify-ca skips only the host name check; require checks nothing; prefer stays postgres.js' own; disable is plain", async () => {
    const pg = async (mode: string) =>
      (await loadConnectionTls({ ...base, databaseUrl: `postgres://u:p@db/x?sslmode=${mode}` })).postgres;
    const verifyCa = (await pg("verify-ca")) as { checkServerIdentity: () => unknown; rejectUnauthorized: boolean };
    expect(verifyCa.rejectUnauthorized).toBe(true);
    expect(verifyCa.checkServerIdentity()).toBeUndefined();
    expect(await pg("require")).toMatchObject({ rejectUnauthorized: false, minVersion: "TLSv1.2" });
    expect(await pg("prefer")).toBe("prefer");
    expect(await pg("disable")).toBe(false);
  });

  test("plain connections get no TLS options", async () => {
    expect(
      await loadConnectionTls({ ...base, natsUrl: "nats://127.0.0.1:4222", redisUrl: "redis://127.0.0.1:6379" }),
    ).toEqual({ postgres: false });
  });
});

describe("the files: read once, errors name the variable and the path, never the content", () => {
  test("a missing file, a file that is no PEM, a key that is not the certificate's", async () => {
    const junk = join(dir, "junk.pem");
    writeFileSync(junk, "-----BEGIN SECRET-----\nhunter2\n-----END SECRET-----\n");
    const missing = join(dir, "missing.pem");
    const problems = await problemsOf({
      natsUrl: "tls://127.0.0.1:4222",
      natsTlsCa: missing,
      natsTlsCert: junk,
      natsTlsKey: junk,
      redisUrl: "rediss://127.0.0.1:6380",
      redisTlsCert: pki.clientCert,
      redisTlsKey: pki.serverKey,
    });
    expect(problems).toEqual([
      `NATS_TLS_CA=${missing}: cannot read the file (ENOENT)`,
      `NATS_TLS_CERT=${junk}: not a PEM certificate`,
      `NATS_TLS_KEY=${junk}: not a PEM private key (an encrypted key is not supported)`,
      `REDIS_TLS_CERT=${pki.clientCert} and REDIS_TLS_KEY=${pki.serverKey}: the key does not belong to the certificate`,
    ]);
    expect(problems.join("\n")).not.toContain("hunter2");
    expect(problems.join("\n")).not.toContain("BEGIN");
  });

  test("files of a connection the service does not make are not read", async () => {
    expect(await problemsOf({ databaseTlsCa: join(dir, "missing.pem") })).toEqual([]);
  });
});

describe("HOOKLINE_ENV=production: a connection leaving the host must be encrypted and verified", () => {
  const production = { hooklineEnv: "production" } as const;
  const remote = {
    natsUrl: "nats://10.0.0.5:4222",
    databaseUrl: "postgres://u:s3cret@db.internal:5432/x?sslmode=require",
    redisUrl: "redis://:s3cret@redis-master:6379",
  };
  const dns = table({ "db.internal": ["10.0.0.6"], "redis-master": ["10.0.0.7"] });

  test("each insecure remote connection is one problem, saying how to fix it; no password", async () => {
    const problems = await problemsOf({ ...production, ...remote }, dns);
    expect(problems).toEqual([
      "NATS_URL connects to 10.0.0.5 without TLS; use a tls:// NATS_URL (NATS_TLS_CA for a private CA), or set ALLOW_INSECURE_CONNECTIONS=true (HOOKLINE_ENV=production refuses it otherwise)",
      "DATABASE_URL connects to db.internal over TLS without verifying the server (sslmode=require); use sslmode=verify-full in DATABASE_URL (DATABASE_TLS_CA for a private CA), or set ALLOW_INSECURE_CONNECTIONS=true (HOOKLINE_ENV=production refuses it otherwise)",
      "REDIS_URL connects to redis-master without TLS; use a rediss:// REDIS_URL (REDIS_TLS_CA for a private CA), or set ALLOW_INSECURE_CONNECTIONS=true (HOOKLINE_ENV=production refuses it otherwise)",
    ]);
    expect(problems.join("\n")).not.toContain("s3cret");
  });

  test("verified TLS passes (verify-ca counts: the chain is checked)", async () => {
    expect(
      await problemsOf(
        {
          ...production,
          natsUrl: "tls://10.0.0.5:4222",
          databaseUrl: "postgres://u:p@db.internal/x?sslmode=verify-ca",
          redisUrl: "rediss://redis-master:6380",
        },
        noDns,
      ),
    ).toEqual([]);
  });

  test("loopback stays allowed: addresses, and names that resolve only to loopback", async () => {
    const local = table({ localhost: ["127.0.0.1", "::1"], "pg-sidecar": ["127.0.0.2"] });
    expect(
      await problemsOf(
        {
          ...production,
          natsUrl: "nats://127.0.0.1:4222,nats://[::1]:4223",
          databaseUrl: "postgres://u:p@pg-sidecar/x",
          redisUrl: "redis://localhost:6379",
        },
        local,
      ),
    ).toEqual([]);
  });

  test("a name with any non-loopback address, or none, counts as remote", async () => {
    const mixed = table({ "half-local": ["127.0.0.1", "10.0.0.9"] });
    expect(await problemsOf({ ...production, redisUrl: "redis://half-local:6379" }, mixed)).toHaveLength(1);
    expect(await problemsOf({ ...production, redisUrl: "redis://nowhere:6379" }, mixed)).toHaveLength(1);
  });

  test("ALLOW_INSECURE_CONNECTIONS=true starts, with one warning listing them", async () => {
    const warnings: unknown[] = [];
    const log = { warn: (obj: unknown, msg: string) => warnings.push([obj, msg]) } as never;
    await loadConnectionTls({ ...base, ...production, ...remote, allowInsecureConnections: true }, log, dns);
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0])).toContain("NATS_URL connects to 10.0.0.5 without TLS");
  });

  test("outside production nothing is refused (and nothing is resolved)", async () => {
    expect(await problemsOf({ ...remote }, noDns)).toEqual([]);
    expect(await problemsOf({ ...remote, hooklineEnv: "development" }, noDns)).toEqual([]);
  });

  test("isLoopbackAddress / isLocalHost", async () => {
    for (const a of ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"]) expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ["10.0.0.1", "::ffff:10.0.0.1", "0.0.0.0", "::", "localhost", "garbage"])
      expect(isLoopbackAddress(a)).toBe(false);
    expect(await isLocalHost("127.0.0.1", noDns)).toBe(true);
    expect(await isLocalHost("10.1.2.3", noDns)).toBe(false);
  });
});

describe("config entries and failures", () => {
  test("TLS_MIN_VERSION is TLSv1.2 unless set to TLSv1.3; the file variables default to empty", () => {
    const spec = { ...commonConfig, ...databaseTlsConfig, ...redisTlsConfig };
    const config = readConfig(spec, {});
    expect(config.tlsMinVersion).toBe("TLSv1.2");
    expect(config.allowInsecureConnections).toBe(false);
    expect([config.natsTlsCa, config.databaseTlsKey, config.redisTlsCert]).toEqual(["", "", ""]);
    expect(readConfig(spec, { TLS_MIN_VERSION: "TLSv1.3" }).tlsMinVersion).toBe("TLSv1.3");
    expect(() => readConfig(spec, { TLS_MIN_VERSION: "TLSv1.1" })).toThrow("TLS_MIN_VERSION");
  });

  test("explainTlsFailure names the server and the variable; other errors are left alone", () => {
    const refused = explainTlsFailure(
      "postgres",
      Object.assign(new Error("self signed certificate in certificate chain"), { code: "SELF_SIGNED_CERT_IN_CHAIN" }),
    );
    expect(refused?.code).toBe("tls_certificate_refused");
    expect(refused?.message).toMatch(/^the Postgres server's TLS certificate was refused: .*DATABASE_TLS_CA/);
    expect(refused?.cause).toBeInstanceOf(Error);
    expect(
      explainTlsFailure("nats", Object.assign(new Error("boom"), { code: "ERR_SSL_WRONG_VERSION_NUMBER" }))?.code,
    ).toBe("tls_handshake_failed");
    expect(explainTlsFailure("nats", new Error("server does not support 'tls'"))?.code).toBe("tls_not_offered");
    expect(explainTlsFailure("redis", Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))).toBeUndefined();
  });
});
