// Loads the sources file (HOOKLINE_SOURCES, YAML or JSON). Secrets may be inline (dev)
// or references: { env: NAME } or { file: PATH }, resolved once at start-up.
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { parse as parseYaml } from "yaml";
import type { AuthConfig, SourceConfig } from "./types.ts";

const SecretRef = v.union([
  v.pipe(v.string(), v.minLength(1)),
  v.object({ env: v.pipe(v.string(), v.minLength(1)) }),
  v.object({ file: v.pipe(v.string(), v.minLength(1)) }),
]);
const Secrets = v.pipe(v.array(SecretRef), v.minLength(1), v.maxLength(2, "at most two secrets (current and next, for rotation)"));

const Auth = v.variant("scheme", [
  v.object({ scheme: v.literal("standard-webhooks"), secrets: Secrets, toleranceSeconds: v.optional(v.number(), 300) }),
  v.object({ scheme: v.literal("typeform"), secrets: Secrets }),
  v.object({ scheme: v.literal("github"), secrets: Secrets }),
  v.object({
    scheme: v.literal("stripe"),
    secrets: Secrets,
    toleranceSeconds: v.optional(v.number(), 300),
    header: v.optional(v.string(), "stripe-signature"),
  }),
  v.object({
    scheme: v.literal("token"),
    tokens: Secrets,
    header: v.optional(v.string(), "x-webhook-token"),
    basicUser: v.optional(v.string()),
    queryParam: v.optional(v.string()),
  }),
]);

const Canonical = v.picklist([
  "firstName", "lastName", "fullName", "email", "phone", "dateOfBirth", "gender",
  "street", "postalCode", "city", "country", "consent",
]);

const Source = v.object({
  id: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "source id must be lower-case letters, digits and dashes")),
  adapter: v.picklist(["heyflow", "typeform", "google-forms", "generic"]),
  auth: Auth,
  contentTypes: v.optional(v.array(v.string())),
  maxBodyBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1_048_576),
  phoneRegion: v.optional(v.pipe(v.string(), v.length(2)), "DE"),
  dateOrder: v.optional(v.picklist(["DMY", "MDY", "YMD"]), "DMY"),
  forms: v.optional(v.record(v.string(), v.object({ fields: v.record(v.string(), Canonical) })), {}),
  allowedIps: v.optional(v.array(v.string()), []),
  rateLimitPerSecond: v.optional(v.pipe(v.number(), v.minValue(0)), 0),
});

const SourcesFile = v.object({ sources: v.array(Source) });

const DEFAULT_CONTENT_TYPES: Record<SourceConfig["adapter"], string[]> = {
  heyflow: ["application/json", "application/x-www-form-urlencoded"],
  typeform: ["application/json"],
  "google-forms": ["application/json", "application/x-www-form-urlencoded"],
  generic: ["application/json"],
};

export class SourcesConfigError extends Error {
  readonly code = "invalid_sources_config";
}

function resolveSecret(ref: v.InferOutput<typeof SecretRef>, env: Record<string, string | undefined>, where: string): string {
  if (typeof ref === "string") {
    // A secret typed into a config file ends up in git and in ConfigMaps: dev only.
    if (env.HOOKLINE_ENV === "production") {
      throw new SourcesConfigError(`${where}: inline secrets are not allowed when HOOKLINE_ENV=production; use { env: NAME } or { file: PATH }`);
    }
    return ref;
  }
  if ("env" in ref) {
    const value = env[ref.env];
    if (!value) throw new SourcesConfigError(`${where}: environment variable ${ref.env} is not set`);
    return value;
  }
  try {
    return readFileSync(ref.file, "utf8").trim();
  } catch (error) {
    throw new SourcesConfigError(`${where}: cannot read secret file ${ref.file}: ${(error as Error).message}`);
  }
}

export function parseSources(text: string, env: Record<string, string | undefined> = process.env): Map<string, SourceConfig> {
  const raw = text.trimStart().startsWith("{") ? JSON.parse(text) : parseYaml(text);
  const result = v.safeParse(SourcesFile, raw);
  if (!result.success) {
    const lines = result.issues.map((issue) => `  ${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`);
    throw new SourcesConfigError(`invalid sources file:\n${lines.join("\n")}`);
  }
  const sources = new Map<string, SourceConfig>();
  for (const s of result.output.sources) {
    if (sources.has(s.id)) throw new SourcesConfigError(`duplicate source id "${s.id}"`);
    const where = `source ${s.id}`;
    let auth: AuthConfig;
    if (s.auth.scheme === "token") {
      auth = { ...s.auth, header: s.auth.header.toLowerCase(), tokens: s.auth.tokens.map((t) => resolveSecret(t, env, where)) };
    } else if (s.auth.scheme === "stripe") {
      auth = { ...s.auth, header: s.auth.header.toLowerCase(), secrets: s.auth.secrets.map((t) => resolveSecret(t, env, where)) };
    } else {
      auth = { ...s.auth, secrets: s.auth.secrets.map((t) => resolveSecret(t, env, where)) } as AuthConfig;
    }
    sources.set(s.id, {
      ...s,
      auth,
      contentTypes: s.contentTypes ?? DEFAULT_CONTENT_TYPES[s.adapter],
      phoneRegion: s.phoneRegion.toUpperCase() as SourceConfig["phoneRegion"],
    });
  }
  return sources;
}

export function loadSources(path: string, env: Record<string, string | undefined> = process.env): Map<string, SourceConfig> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new SourcesConfigError(`cannot read sources file ${path}: ${(error as Error).message}`);
  }
  return parseSources(text, env);
}
