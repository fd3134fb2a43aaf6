// TLS for the connections to NATS, Postgres and Redis, decided and built in this one module.
//
// Which connections encrypt: NATS when NATS_URL says tls:// or a NATS_TLS_* file is set;
// Postgres by DATABASE_URL's sslmode (libpq's names), verify-full when only DATABASE_TLS_*
// files are set; Redis when REDIS_URL says rediss:// or a REDIS_TLS_* file is set. An encrypted
// connection verifies the server's chain and host name (Postgres' weaker sslmodes excepted:
// verify-ca checks the chain only; require, prefer and allow check nothing, as in libpq), offers
// TLS 1.3 and accepts nothing below TLS_MIN_VERSION (TLSv1.2 unless set). The CA bundle and the
// client certificate and key are files (a mounted Kubernetes Secret), read and parsed once at
// start; errors name the variable and the file, never their content.
//
// With HOOKLINE_ENV=production a connection that leaves the host unencrypted or unverified stops
// the start, unless ALLOW_INSECURE_CONNECTIONS=true (say, a service mesh encrypts it). Loopback
// stays allowed: a host whose addresses are all loopback (127.0.0.0/8, ::1; a sidecar proxy, a
// name /etc/hosts maps there) keeps its traffic inside the machine.

import { createPrivateKey, X509Certificate } from "node:crypto";
import { lookup as dnsLookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import type { ConnectionOptions, SecureVersion } from "node:tls";
import type { TlsOptions as NatsTlsOptions } from "@nats-io/nats-core";
import ipaddr from "ipaddr.js";
import { ConfigError } from "./config.ts";
import type { Logger } from "./logger.ts";

/** The config values read here; each service's config has those of the connections it makes. */
export interface TlsSettings {
  hooklineEnv?: string;
  allowInsecureConnections: boolean;
  tlsMinVersion: SecureVersion;
  natsUrl?: string;
  natsTlsCa?: string;
  natsTlsCert?: string;
  natsTlsKey?: string;
  databaseUrl?: string;
  databaseTlsCa?: string;
  databaseTlsCert?: string;
  databaseTlsKey?: string;
  redisUrl?: string;
  redisTlsCa?: string;
  redisTlsCert?: string;
  redisTlsKey?: string;
}

/** nats.js hands its `tls` object to tls.connect, so minVersion reaches Node like the rest. */
export type NatsTls = NatsTlsOptions & { minVersion: SecureVersion };
/** postgres.js' `ssl`: false (plain), its opportunistic modes by name, or tls.connect options. */
export type PostgresSsl = false | "prefer" | "allow" | ConnectionOptions;

/** What each connection is given; undefined / false: plain. */
export interface ConnectionTls {
  nats?: NatsTls;
  postgres: PostgresSsl;
  redis?: ConnectionOptions;
}

/** libpq's sslmode values, weakest first. */
const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
type SslMode = (typeof SSL_MODES)[number];

/** How much of the server's certificate is checked: chain and host name, chain only, nothing. */
type Verify = "full" | "chain" | "none";

type Kind = "nats" | "postgres" | "redis";

/** A connection's decision, before any file is read: pure, from the settings. */
export interface TlsPlan {
  kind: Kind;
  /** The variable holding the URL, for messages. */
  urlVariable: string;
  /** Host names or addresses the connection goes to (for the production rule). */
  hosts: string[];
  /** undefined: plain. */
  tls?: { verify: Verify; mode?: SslMode };
  /** Variable name → path, for the files that are set. */
  files: { ca?: [string, string]; cert?: [string, string]; key?: [string, string] };
}

const LABEL: Record<Kind, string> = { nats: "NATS", postgres: "Postgres", redis: "Redis" };
const PREFIX: Record<Kind, string> = { nats: "NATS_TLS", postgres: "DATABASE_TLS", redis: "REDIS_TLS" };
const HOW_TO_VERIFY: Record<Kind, string> = {
  nats: "a tls:// NATS_URL (NATS_TLS_CA for a private CA)",
  postgres: "sslmode=verify-full in DATABASE_URL (DATABASE_TLS_CA for a private CA)",
  redis: "a rediss:// REDIS_URL (REDIS_TLS_CA for a private CA)",
};

/** The hosts of a URL's authority, which may list several (`h1:4222,h2:4222`, postgres.js multihost). */
export function urlHosts(url: string): string[] {
  const afterScheme = url.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const authority = afterScheme.split(/[/?#]/, 1)[0] ?? "";
  const hostPart = authority.slice(authority.lastIndexOf("@") + 1);
  return hostPart.split(",").map((hp) => {
    const host = hp.startsWith("[") ? hp.slice(1, hp.indexOf("]")) : hp.split(":", 1)[0]!;
    // postgres.js and ioredis default an empty host to localhost.
    return host === "" ? "localhost" : host.toLowerCase();
  });
}

function filesOf(kind: Kind, s: TlsSettings): TlsPlan["files"] {
  const [ca, cert, key] =
    kind === "nats"
      ? [s.natsTlsCa, s.natsTlsCert, s.natsTlsKey]
      : kind === "postgres"
        ? [s.databaseTlsCa, s.databaseTlsCert, s.databaseTlsKey]
        : [s.redisTlsCa, s.redisTlsCert, s.redisTlsKey];
  const files: TlsPlan["files"] = {};
  if (ca) files.ca = [`${PREFIX[kind]}_CA`, ca];
  if (cert) files.cert = [`${PREFIX[kind]}_CERT`, cert];
  if (key) files.key = [`${PREFIX[kind]}_KEY`, key];
  return files;
}

const anyFile = (files: TlsPlan["files"]) => Object.keys(files).length > 0;

/** libpq's URL parameters that name files: postgres.js would send them to the server as settings. */
const PG_FILE_PARAMS = ["sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir"];

/**
 * Decides, for each connection the settings name, whether it encrypts and what it verifies.
 * Returns the plans and the problems found (contradictions, unknown sslmode).
 */
export function planConnections(s: TlsSettings): { plans: TlsPlan[]; problems: string[] } {
  const plans: TlsPlan[] = [];
  const problems: string[] = [];
  if (s.natsUrl) {
    const files = filesOf("nats", s);
    const urls = s.natsUrl.split(",").map((u) => u.trim().toLowerCase());
    // nats.js ignores the scheme; the client-wide tls option applies to every server.
    const wantsTls = urls.some((u) => u.startsWith("tls://") || u.startsWith("wss://")) || anyFile(files);
    plans.push({
      kind: "nats",
      urlVariable: "NATS_URL",
      hosts: urls.flatMap(urlHosts),
      tls: wantsTls ? { verify: "full" } : undefined,
      files,
    });
  }
  if (s.databaseUrl) {
    const files = filesOf("postgres", s);
    let query = new URLSearchParams();
    try {
      query = new URL(s.databaseUrl).searchParams;
    } catch {
      // A multi-host URL may not parse as a whole; its query is after the first "?".
      query = new URLSearchParams(s.databaseUrl.split("?")[1] ?? "");
    }
    const named = PG_FILE_PARAMS.filter((p) => query.has(p));
    if (named.length)
      problems.push(
        `DATABASE_URL: ${named.join(", ")} cannot be given in the URL; set DATABASE_TLS_CA, ` +
          "DATABASE_TLS_CERT and DATABASE_TLS_KEY to the files instead",
      );
    const given = query.get("sslmode");
    let mode: SslMode = anyFile(files) ? "verify-full" : "disable";
    if (given !== null) {
      if ((SSL_MODES as readonly string[]).includes(given)) mode = given as SslMode;
      else problems.push(`DATABASE_URL: sslmode must be one of ${SSL_MODES.join(", ")}`);
    }
    if (mode === "disable" && anyFile(files))
      problems.push(`${Object.values(files)[0]![0]} is set but DATABASE_URL has sslmode=disable`);
    // As libpq: require with a root certificate checks the chain (verify-ca).
    if (mode === "require" && files.ca) mode = "verify-ca";
    const verify: Verify = mode === "verify-full" ? "full" : mode === "verify-ca" ? "chain" : "none";
    plans.push({
      kind: "postgres",
      urlVariable: "DATABASE_URL",
      hosts: urlHosts(s.databaseUrl),
      tls: mode === "disable" ? undefined : { verify, mode },
      files,
    });
  }
  if (s.redisUrl) {
    const files = filesOf("redis", s);
    const wantsTls = s.redisUrl.trim().toLowerCase().startsWith("rediss://") || anyFile(files);
    plans.push({
      kind: "redis",
      urlVariable: "REDIS_URL",
      hosts: urlHosts(s.redisUrl),
      tls: wantsTls ? { verify: "full" } : undefined,
      files,
    });
  }
  for (const plan of plans) {
    const { cert, key } = plan.files;
    if (cert && !key) problems.push(`${cert[0]} needs ${PREFIX[plan.kind]}_KEY (the client certificate's key)`);
    if (key && !cert) problems.push(`${key[0]} needs ${PREFIX[plan.kind]}_CERT (the key's client certificate)`);
  }
  return { plans, problems };
}

/** PEM text of the files a plan names, read and parsed; problems name variable and path only. */
interface Material {
  ca?: string;
  cert?: string;
  key?: string;
}

function readPem(
  [variable, path]: [string, string],
  kind: "certificate" | "key",
  problems: string[],
): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    problems.push(`${variable}=${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    return undefined;
  }
  try {
    if (kind === "certificate") {
      // X509Certificate reads the first certificate; a CA bundle may hold several.
      if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new Error("no certificate");
      new X509Certificate(text);
    } else createPrivateKey(text);
  } catch {
    problems.push(
      kind === "certificate"
        ? `${variable}=${path}: not a PEM certificate`
        : `${variable}=${path}: not a PEM private key (an encrypted key is not supported)`,
    );
    return undefined;
  }
  return text;
}

function readMaterial(plan: TlsPlan, problems: string[]): Material {
  const { ca, cert, key } = plan.files;
  const material: Material = {
    ca: ca && readPem(ca, "certificate", problems),
    cert: cert && readPem(cert, "certificate", problems),
    key: key && readPem(key, "key", problems),
  };
  if (cert && key && material.cert && material.key) {
    if (!new X509Certificate(material.cert).checkPrivateKey(createPrivateKey(material.key)))
      problems.push(`${cert[0]}=${cert[1]} and ${key[0]}=${key[1]}: the key does not belong to the certificate`);
  }
  return material;
}

/** tls.connect options for a plan that encrypts. */
function tlsOptions(plan: TlsPlan, material: Material, minVersion: SecureVersion): ConnectionOptions {
  const options: ConnectionOptions = { minVersion, rejectUnauthorized: plan.tls?.verify !== "none" };
  // A CA file replaces the system's CAs: only that CA's certificates are accepted.
  if (material.ca) options.ca = material.ca;
  if (material.cert) options.cert = material.cert;
  if (material.key) options.key = material.key;
  // verify-ca: the chain is checked, the host name is not.
  if (plan.tls?.verify === "chain") options.checkServerIdentity = () => undefined;
  return options;
}

function buildOptions(plans: TlsPlan[], materials: Material[], minVersion: SecureVersion): ConnectionTls {
  const out: ConnectionTls = { postgres: false };
  plans.forEach((plan, i) => {
    if (!plan.tls) return;
    const options = tlsOptions(plan, materials[i]!, minVersion);
    if (plan.kind === "nats") out.nats = options as NatsTls;
    else if (plan.kind === "redis") out.redis = options;
    // postgres.js falls back to plain for "prefer" only when given the name.
    else out.postgres = plan.tls.mode === "prefer" || plan.tls.mode === "allow" ? plan.tls.mode : options;
  });
  return out;
}

export type Resolve = (host: string) => Promise<string[]>;

const systemResolve: Resolve = async (host) => (await dnsLookup(host, { all: true })).map((a) => a.address);

export function isLoopbackAddress(address: string): boolean {
  try {
    // process(): an IPv4-mapped IPv6 address (::ffff:127.0.0.1) counts as its IPv4 address.
    return ipaddr.process(address).range() === "loopback";
  } catch {
    return false;
  }
}

/** True when every address `host` stands for is loopback (an unresolvable name is not). */
export async function isLocalHost(host: string, resolve: Resolve = systemResolve): Promise<boolean> {
  if (ipaddr.isValid(host)) return isLoopbackAddress(host);
  try {
    const addresses = await resolve(host);
    return addresses.length > 0 && addresses.every(isLoopbackAddress);
  } catch {
    return false;
  }
}

/** The connections that leave the host without verified TLS, described for a message. */
async function insecureConnections(plans: TlsPlan[], resolve: Resolve = systemResolve): Promise<string[]> {
  const found: string[] = [];
  for (const plan of plans) {
    if (plan.tls && plan.tls.verify !== "none") continue;
    const how = plan.tls ? `over TLS without verifying the server (sslmode=${plan.tls.mode})` : "without TLS";
    for (const host of plan.hosts)
      if (!(await isLocalHost(host, resolve)))
        found.push(`${plan.urlVariable} connects to ${host} ${how}; use ${HOW_TO_VERIFY[plan.kind]}`);
  }
  return found;
}

/**
 * Decides and builds the TLS of every connection `settings` names, reading the files once.
 * Throws ConfigError listing every problem: a file that cannot be read or parsed, a certificate
 * without its key, a contradiction, and with HOOKLINE_ENV=production a remote connection without
 * verified TLS (unless ALLOW_INSECURE_CONNECTIONS=true, then each is logged as a warning).
 */
export async function loadConnectionTls(
  settings: TlsSettings,
  log?: Logger,
  resolve: Resolve = systemResolve,
): Promise<ConnectionTls> {
  const { plans, problems } = planConnections(settings);
  const materials = plans.map((plan) => readMaterial(plan, problems));
  if (settings.hooklineEnv === "production") {
    const insecure = await insecureConnections(plans, resolve);
    if (!settings.allowInsecureConnections)
      problems.push(
        ...insecure.map(
          (m) => `${m}, or set ALLOW_INSECURE_CONNECTIONS=true (HOOKLINE_ENV=production refuses it otherwise)`,
        ),
      );
    else if (insecure.length)
      log?.warn({ connections: insecure }, "insecure connections allowed by ALLOW_INSECURE_CONNECTIONS");
  }
  if (problems.length) throw new ConfigError(problems);
  return buildOptions(plans, materials, settings.tlsMinVersion);
}

/** Node's codes for a server certificate that failed verification, and TLS handshake failures. */
const CERTIFICATE_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

export class TlsConnectionError extends Error {
  readonly code: string;
  constructor(message: string, code: string, options: { cause: unknown }) {
    super(message, options);
    this.name = "TlsConnectionError";
    this.code = code;
  }
}

/**
 * A TLS failure of a connection, said plainly: whose certificate was refused and which variable
 * decides what is trusted. Undefined for any other error (the caller keeps it as it is).
 */
export function explainTlsFailure(kind: Kind, error: unknown): TlsConnectionError | undefined {
  const code = String((error as { code?: unknown })?.code ?? "");
  const message = (error as Error)?.message ?? "";
  if (CERTIFICATE_CODES.has(code))
    return new TlsConnectionError(
      `the ${LABEL[kind]} server's TLS certificate was refused: ${message} (${code}); it must be issued by a CA ` +
        `in ${PREFIX[kind]}_CA (the system's CAs when unset) for the host name connected to`,
      "tls_certificate_refused",
      { cause: error },
    );
  if (code.startsWith("ERR_SSL_") || /wrong version number|protocol version|unsupported protocol/i.test(message))
    return new TlsConnectionError(
      `the TLS handshake with the ${LABEL[kind]} server failed: ${message}${code ? ` (${code})` : ""}; ` +
        "check that it speaks TLS on that port and supports TLS_MIN_VERSION",
      "tls_handshake_failed",
      { cause: error },
    );
  // nats.js, when the client asks for TLS and the server's INFO offers none.
  if (/does not support 'tls'/.test(message))
    return new TlsConnectionError(
      `the ${LABEL[kind]} server does not offer TLS, which ${PREFIX[kind]}_* or the URL's scheme asks for`,
      "tls_not_offered",
      { cause: error },
    );
  return undefined;
}
