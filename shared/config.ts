// Config is read once, in each service's composition root, from the environment.
// Variables have defaults that are safe anywhere; the few whose only sensible default is a
// public dev value (the sources file, the dashboard tokens) get it only when
// HOOKLINE_ENV=development asks for it (./ops/up and the tests set it). A bad value fails
// start-up with one error that lists every bad variable, not just the first.
import * as v from "valibot";
import { DEV_DATABASE_URL, DEV_SOURCES_FILE, devCredentialRefusal } from "./dev-credentials.ts";

export class ConfigError extends Error {
  readonly code = "invalid_config";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

const isUrl = (s: string, protocols: string[]) => {
  try {
    return protocols.includes(new URL(s.trim()).protocol);
  } catch {
    return false;
  }
};

const url = (protocols: string[]) =>
  v.pipe(
    v.string(),
    v.check((s) => isUrl(s, protocols), `must be a URL with scheme ${protocols.join(" or ")}`),
  );

/** A comma-separated list of URLs (NATS takes several seed servers). */
const urls = (protocols: string[]) =>
  v.pipe(
    v.string(),
    v.check(
      (s) => s.split(",").every((u) => isUrl(u, protocols)),
      `must be URLs with scheme ${protocols.join(" or ")}, comma-separated`,
    ),
  );

const int = (min: number, max: number) =>
  v.pipe(v.string(), v.regex(/^\d+$/, "must be a whole number"), v.transform(Number), v.minValue(min), v.maxValue(max));

const bool = v.pipe(
  v.picklist(["true", "false", "1", "0"], "must be true or false"),
  v.transform((s) => s === "true" || s === "1"),
);

/** Reusable entries; each service picks what it needs. Values arrive as strings. */
export const env = {
  natsUrl: urls(["nats:", "tls:", "ws:", "wss:"]),
  databaseUrl: url(["postgres:", "postgresql:"]),
  redisUrl: url(["redis:", "rediss:"]),
  host: v.pipe(v.string(), v.minLength(1)),
  port: int(0, 65535),
  int,
  bool,
  logLevel: v.picklist(["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
  nonEmpty: v.pipe(v.string(), v.minLength(1)),
  csv: v.pipe(
    v.string(),
    v.transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  ),
};

export interface ConfigEntry<T> {
  /** Environment variable name. */
  name: string;
  schema: v.GenericSchema<string, T>;
  default?: string;
  /**
   * A public dev value used when the variable is unset and HOOKLINE_ENV=development; otherwise
   * the variable is required.
   */
  devDefault?: string;
  /**
   * Secret values are never echoed back in errors, and with HOOKLINE_ENV=production one
   * holding a public dev credential (shared/dev-credentials.ts) is refused.
   */
  secret?: boolean;
}

export function entry<T>(
  name: string,
  schema: v.GenericSchema<string, T>,
  def?: string,
  secret = false,
): ConfigEntry<T> {
  return { name, schema, default: def, secret };
}

/** An entry whose default is a public dev value: it applies only when HOOKLINE_ENV=development. */
export function devEntry<T>(
  name: string,
  schema: v.GenericSchema<string, T>,
  devDefault: string,
  secret = false,
): ConfigEntry<T> {
  return { name, schema, devDefault, secret };
}

/**
 * HOOKLINE_ENV: `development` turns on the public dev defaults, `production` refuses public
 * dev credentials and inline secrets; unset is neither (every required value must be given).
 * Kept to two names so a typo ("prod") fails start-up instead of silently meaning "unset".
 */
const HOOKLINE_ENVS = ["development", "production"] as const;

/**
 * Reads `spec` (key → entry) from `source`, returning typed values or throwing
 * ConfigError naming every variable that is missing or malformed.
 */
// biome-ignore lint/suspicious/noExplicitAny: each entry has its own value type; `infer` below recovers it.
export function readConfig<S extends Record<string, ConfigEntry<any>>>(
  spec: S,
  source: Env = process.env,
): { [K in keyof S]: S[K] extends ConfigEntry<infer T> ? T : never } {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  // Compared exactly: an invalid HOOKLINE_ENV enables nothing (and commonConfig reports it).
  const mode = source.HOOKLINE_ENV;
  for (const [key, e] of Object.entries(spec)) {
    const raw = source[e.name] ?? (mode === "development" ? (e.devDefault ?? e.default) : e.default);
    // An empty value counts as missing, unless empty is the entry's own default.
    if (raw === undefined || (raw === "" && e.default !== "")) {
      problems.push(
        e.devDefault === undefined
          ? `${e.name} is required`
          : `${e.name} is required (for local use only, HOOKLINE_ENV=development defaults it ` +
              `to the public dev value${e.secret ? "" : ` ${e.devDefault}`})`,
      );
      continue;
    }
    const refusal = e.secret ? devCredentialRefusal(raw, mode) : undefined;
    if (refusal) {
      problems.push(`${e.name} holds ${refusal}`);
      continue;
    }
    const result = v.safeParse(e.schema, raw);
    if (result.success) out[key] = result.output;
    else
      problems.push(
        `${e.name}=${e.secret ? "<redacted>" : JSON.stringify(raw)}: ${result.issues.map((i) => i.message).join("; ")}`,
      );
  }
  if (problems.length) throw new ConfigError(problems);
  return out as never;
}

/** The path of a PEM file (CA bundle, client certificate or key); empty: none. */
const tlsFile = v.pipe(v.string(), v.trim());

/** Entries every service shares. */
export const commonConfig = {
  hooklineEnv: entry(
    "HOOKLINE_ENV",
    v.pipe(
      v.picklist(["", ...HOOKLINE_ENVS], "must be development or production, or unset"),
      v.transform((s) => (s === "" ? undefined : s)),
    ),
    "",
  ),
  // A NATS URL can carry credentials (nats://user:pass@host): never echoed.
  natsUrl: entry("NATS_URL", env.natsUrl, "nats://127.0.0.1:4222", true),
  logLevel: entry("LOG_LEVEL", env.logLevel, "info"),
  serviceHost: entry("HOST", env.host, "127.0.0.1"),
  // The NATS connection's TLS files, read at start by shared/tls.ts (which documents the rules).
  natsTlsCa: entry("NATS_TLS_CA", tlsFile, ""),
  natsTlsCert: entry("NATS_TLS_CERT", tlsFile, ""),
  natsTlsKey: entry("NATS_TLS_KEY", tlsFile, ""),
  // Every TLS connection offers TLS 1.3; this is the lowest version it accepts.
  tlsMinVersion: entry("TLS_MIN_VERSION", v.picklist(["TLSv1.2", "TLSv1.3"], "must be TLSv1.2 or TLSv1.3"), "TLSv1.2"),
  // With HOOKLINE_ENV=production, lets a connection leave the host without verified TLS.
  allowInsecureConnections: entry("ALLOW_INSECURE_CONNECTIONS", env.bool, "false"),
};

/** TLS files of the Postgres connection (with DATABASE_URL's sslmode; see shared/tls.ts). */
export const databaseTlsConfig = {
  databaseTlsCa: entry("DATABASE_TLS_CA", tlsFile, ""),
  databaseTlsCert: entry("DATABASE_TLS_CERT", tlsFile, ""),
  databaseTlsKey: entry("DATABASE_TLS_KEY", tlsFile, ""),
};

/** TLS files of the Redis connection (with a rediss:// REDIS_URL; see shared/tls.ts). */
export const redisTlsConfig = {
  redisTlsCa: entry("REDIS_TLS_CA", tlsFile, ""),
  redisTlsCert: entry("REDIS_TLS_CERT", tlsFile, ""),
  redisTlsKey: entry("REDIS_TLS_KEY", tlsFile, ""),
};

/** Postgres (projector, dashboard, provisioning); the local dev database only with HOOKLINE_ENV=development. */
export const databaseUrlConfig = devEntry("DATABASE_URL", env.databaseUrl, DEV_DATABASE_URL, true);

/** The sources file (format in docs/sources.md); the dev file only with HOOKLINE_ENV=development. */
export const sourcesFileConfig = devEntry("HOOKLINE_SOURCES", env.nonEmpty, DEV_SOURCES_FILE);

/**
 * The keys that seal patient data at rest and the separate blind-index keys, each inline or as
 * a file (a mounted Kubernetes Secret), one of the two; shared/crypto/keys.ts reads them and
 * says which is missing. Never echoed.
 */
export const keyringConfig = {
  dataKeys: entry("HOOKLINE_KEYS", v.string(), "", true),
  dataKeysFile: entry("HOOKLINE_KEYS_FILE", v.pipe(v.string(), v.trim()), ""),
  blindIndexKeys: entry("HOOKLINE_BLIND_INDEX_KEY", v.string(), "", true),
  blindIndexKeysFile: entry("HOOKLINE_BLIND_INDEX_KEY_FILE", v.pipe(v.string(), v.trim()), ""),
};
