// Config is read once, in each service's composition root, from the environment.
// Every variable has a dev default (./ops/up works with none set); a bad value fails
// start-up with one error that lists every bad variable, not just the first.
import * as v from "valibot";

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
  v.pipe(v.string(), v.check((s) => isUrl(s, protocols), `must be a URL with scheme ${protocols.join(" or ")}`));

/** A comma-separated list of URLs (NATS takes several seed servers). */
const urls = (protocols: string[]) =>
  v.pipe(
    v.string(),
    v.check((s) => s.split(",").every((u) => isUrl(u, protocols)), `must be URLs with scheme ${protocols.join(" or ")}, comma-separated`),
  );

const int = (min: number, max: number) =>
  v.pipe(v.string(), v.regex(/^\d+$/, "must be a whole number"), v.transform(Number), v.minValue(min), v.maxValue(max));

const bool = v.pipe(v.picklist(["true", "false", "1", "0"], "must be true or false"), v.transform((s) => s === "true" || s === "1"));

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
  csv: v.pipe(v.string(), v.transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean))),
};

export interface ConfigEntry<T> {
  /** Environment variable name. */
  name: string;
  schema: v.GenericSchema<string, T>;
  default?: string;
  /** Secret values are never echoed back in errors. */
  secret?: boolean;
}

export function entry<T>(name: string, schema: v.GenericSchema<string, T>, def?: string, secret = false): ConfigEntry<T> {
  return { name, schema, default: def, secret };
}

/**
 * Reads `spec` (key → entry) from `source`, returning typed values or throwing
 * ConfigError naming every variable that is missing or malformed.
 */
export function readConfig<S extends Record<string, ConfigEntry<any>>>(
  spec: S,
  source: Env = process.env,
): { [K in keyof S]: S[K] extends ConfigEntry<infer T> ? T : never } {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, e] of Object.entries(spec)) {
    const raw = source[e.name] ?? e.default;
    // An empty value counts as missing, unless empty is the entry's own default.
    if (raw === undefined || (raw === "" && e.default !== "")) {
      problems.push(`${e.name} is required`);
      continue;
    }
    const result = v.safeParse(e.schema, raw);
    if (result.success) out[key] = result.output;
    else problems.push(`${e.name}=${e.secret ? "<redacted>" : JSON.stringify(raw)}: ${result.issues.map((i) => i.message).join("; ")}`);
  }
  if (problems.length) throw new ConfigError(problems);
  return out as never;
}

/** Entries every service shares. */
export const commonConfig = {
  // A NATS URL can carry credentials (nats://user:pass@host): never echoed.
  natsUrl: entry("NATS_URL", env.natsUrl, "nats://127.0.0.1:4222", true),
  logLevel: entry("LOG_LEVEL", env.logLevel, "info"),
  serviceHost: entry("HOST", env.host, "127.0.0.1"),
};
