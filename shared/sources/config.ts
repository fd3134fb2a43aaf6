// Loads the sources file (HOOKLINE_SOURCES, YAML or JSON). Secrets may be inline (dev)
// or references: { env: NAME } or { file: PATH }, resolved once at start-up.
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { parseDocument, type YAMLError } from "yaml";
import { type SecretScheme, secretProblem } from "../crypto/secret-rules.ts";
import { devCredentialRefusal } from "../dev-credentials.ts";
import { CANONICAL_FIELDS } from "../patient-fields.ts";
import { ADAPTER_TYPES, getAdapter } from "./registry.ts";
import type { AuthConfig, SourceConfig } from "./types.ts";

// Any string here: emptiness and format are checked per scheme after resolving (secretProblem),
// so an inline, env and file secret get the same checks and the same kind of message.
const SecretRef = v.union(
  [
    v.string(),
    v.object({ env: v.pipe(v.string(), v.minLength(1)) }),
    v.object({ file: v.pipe(v.string(), v.minLength(1)) }),
  ],
  "a secret is a string, { env: NAME } or { file: PATH }",
);
const Secrets = v.pipe(
  v.array(SecretRef),
  v.minLength(1),
  v.maxLength(2, "at most two secrets (current and next, for rotation)"),
);

/**
 * What a source gets when the sources file does not say (and what a source created at runtime
 * gets: shared/sources/runtime.ts).
 */
export const SOURCE_DEFAULTS = {
  /** Seconds a signature's timestamp may be off (Standard Webhooks, Stripe). */
  toleranceSeconds: 300,
  /** The header a shared token is sent in (HeyFlow's webhook settings name it). */
  tokenHeader: "x-webhook-token",
  maxBodyBytes: 1_048_576,
  phoneRegion: "DE",
  dateOrder: "DMY",
} as const;

// Whole seconds, 1 to an hour: an infinite or huge window keeps a captured delivery replayable
// (".inf" is valid YAML), and 0 or less would refuse every delivery while the service starts.
const Tolerance = v.optional(
  v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3600)),
  SOURCE_DEFAULTS.toleranceSeconds,
);

const Auth = v.variant("scheme", [
  v.object({
    scheme: v.literal("standard-webhooks"),
    secrets: Secrets,
    toleranceSeconds: Tolerance,
  }),
  v.object({ scheme: v.literal("typeform"), secrets: Secrets }),
  v.object({ scheme: v.literal("github"), secrets: Secrets }),
  v.object({
    scheme: v.literal("stripe"),
    secrets: Secrets,
    toleranceSeconds: Tolerance,
    header: v.optional(v.string(), "stripe-signature"),
  }),
  v.object({
    scheme: v.literal("token"),
    tokens: Secrets,
    header: v.optional(v.string(), SOURCE_DEFAULTS.tokenHeader),
    basicUser: v.optional(v.string()),
    queryParam: v.optional(v.string()),
  }),
]);

// Mapping targets: the canonical fields, from their one table.
const Canonical = v.picklist([...CANONICAL_FIELDS, "ignore"], 'not a canonical patient field (or "ignore")');

const Source = v.object({
  id: v.pipe(
    v.string(),
    v.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "source id must be lower-case letters, digits and dashes"),
  ),
  adapter: v.picklist(ADAPTER_TYPES, `adapter must be one of: ${ADAPTER_TYPES.join(", ")}`),
  auth: Auth,
  contentTypes: v.optional(v.array(v.string())),
  maxBodyBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), SOURCE_DEFAULTS.maxBodyBytes),
  phoneRegion: v.optional(v.pipe(v.string(), v.length(2)), SOURCE_DEFAULTS.phoneRegion),
  dateOrder: v.optional(v.picklist(["DMY", "MDY", "YMD"]), SOURCE_DEFAULTS.dateOrder),
  forms: v.optional(v.record(v.string(), v.object({ fields: v.record(v.string(), Canonical) })), {}),
  allowedIps: v.optional(v.array(v.string()), []),
  rateLimitPerSecond: v.optional(v.pipe(v.number(), v.minValue(0)), 0),
});

const SourcesFile = v.object({ sources: v.array(Source) });

/** Every problem of the sources file, one a line; never a secret's value. */
export class SourcesConfigError extends Error {
  readonly code = "invalid_sources_config";
  constructor(
    readonly problems: string[],
    options?: ErrorOptions,
  ) {
    super(`invalid sources file:\n${problems.map((p) => `  - ${p}`).join("\n")}`, options);
    this.name = "SourcesConfigError";
  }
}

type Env = Record<string, string | undefined>;
type SecretRefValue = v.InferOutput<typeof SecretRef>;

/** Which secret, for messages: its position and where it comes from (never its value). */
function describeRef(ref: SecretRefValue, field: string, index: number): string {
  const origin = typeof ref === "string" ? "inline" : "env" in ref ? `env ${ref.env}` : `file ${ref.file}`;
  return `auth.${field}[${index}] (${origin})`;
}

/** The secret's value, or a problem naming it. */
function resolveSecret(ref: SecretRefValue, env: Env): { value: string } | { problem: string; cause?: unknown } {
  if (typeof ref === "string") {
    // A secret typed into a config file ends up in git and in ConfigMaps: dev only.
    if (env.HOOKLINE_ENV === "production")
      return {
        problem:
          "is inline; inline secrets are not allowed when HOOKLINE_ENV=production: use { env: NAME } or { file: PATH }",
      };
    return { value: ref };
  }
  if ("env" in ref) {
    const value = env[ref.env];
    if (value === undefined) return { problem: "is not set" };
    return { value };
  }
  try {
    // Files end in a newline (echo, editors, kubectl create secret --from-file): trimmed.
    return { value: readFileSync(ref.file, "utf8").trim() };
  } catch (error) {
    return { problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`, cause: error };
  }
}

/** The public dev secrets (README, ops/dev/sources.yaml) authenticate nobody in production, from wherever they come. */
function devCredentialProblem(value: string, env: Env): string | undefined {
  const refusal = devCredentialRefusal(value, env.HOOKLINE_ENV);
  return refusal && `is ${refusal}`;
}

/** Resolves and checks every secret of one source; problems are appended, never thrown one by one. */
function resolveSecrets(
  scheme: SecretScheme,
  refs: SecretRefValue[],
  field: string,
  where: string,
  env: Env,
  problems: string[],
  causes: unknown[],
): string[] {
  return refs.map((ref, index) => {
    const resolved = resolveSecret(ref, env);
    const problem =
      "problem" in resolved
        ? resolved.problem
        : (secretProblem(scheme, resolved.value) ?? devCredentialProblem(resolved.value, env));
    if (problem === undefined) return (resolved as { value: string }).value;
    problems.push(`${where}: ${describeRef(ref, field, index)} ${problem}`);
    if ("cause" in resolved) causes.push(resolved.cause);
    return "";
  });
}

// The parsers' own messages quote the file around the error, and valibot's defaults end in
// "but received <value>": either can be a secret. Errors say where (line and column, or the
// path within the file) and what was expected, never what the file says.

const where = (e: YAMLError) =>
  e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : `offset ${e.pos[0]}`;

/** The file's data (YAML, or JSON when it starts with "{"). */
function parseText(text: string): unknown {
  if (text.trimStart().startsWith("{")) {
    try {
      return JSON.parse(text);
    } catch {
      // JSON is YAML, and YAML's parser tells where it breaks; JSON.parse only says how (quoting it).
      const first = parseDocument(text).errors[0];
      throw new SourcesConfigError([`not valid JSON${first ? ` (near ${where(first)})` : ""}`]);
    }
  }
  const doc = parseDocument(text);
  if (doc.errors.length)
    throw new SourcesConfigError(doc.errors.map((e) => `YAML syntax error (${e.code}) at ${where(e)}`));
  try {
    return doc.toJS();
  } catch (error) {
    // e.g. an alias to an anchor never set; the message would name it.
    throw new SourcesConfigError([`YAML cannot be read (${(error as Error).name})`]);
  }
}

const issueMessage = (issue: v.BaseIssue<unknown>) =>
  issue.kind === "schema"
    ? `expected ${issue.expected}`
    : `${issue.type.replaceAll("_", " ")}: expected ${issue.expected}`;

export function parseSources(text: string, env: Env = process.env): Map<string, SourceConfig> {
  const result = v.safeParse(SourcesFile, parseText(text), { message: issueMessage });
  if (!result.success) {
    const lines = result.issues.map((issue) => `${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`);
    throw new SourcesConfigError(lines);
  }
  const sources = new Map<string, SourceConfig>();
  const problems: string[] = [];
  const causes: unknown[] = [];
  for (const s of result.output.sources) {
    if (sources.has(s.id)) problems.push(`duplicate source id "${s.id}"`);
    const where = `source ${s.id}`;
    const adapter = getAdapter(s.adapter);
    // A scheme the adapter cannot verify would answer 401 to every delivery: refuse to start.
    if (!adapter.authSchemes.includes(s.auth.scheme)) {
      const supported = adapter.authSchemes.join(" or ");
      problems.push(
        `${where}: auth scheme ${s.auth.scheme} is not supported by the ${s.adapter} adapter (use ${supported})`,
      );
    }
    const secrets = (refs: SecretRefValue[], field = "secrets") =>
      resolveSecrets(s.auth.scheme, refs, field, where, env, problems, causes);
    let auth: AuthConfig;
    if (s.auth.scheme === "token") {
      auth = { ...s.auth, header: s.auth.header.toLowerCase(), tokens: secrets(s.auth.tokens, "tokens") };
    } else if (s.auth.scheme === "stripe") {
      auth = { ...s.auth, header: s.auth.header.toLowerCase(), secrets: secrets(s.auth.secrets) };
    } else {
      auth = { ...s.auth, secrets: secrets(s.auth.secrets) } as AuthConfig;
    }
    sources.set(s.id, {
      ...s,
      auth,
      contentTypes: s.contentTypes ?? [...adapter.contentTypes],
      phoneRegion: s.phoneRegion.toUpperCase() as SourceConfig["phoneRegion"],
    });
  }
  if (problems.length)
    throw new SourcesConfigError(
      problems,
      causes.length ? { cause: causes.length === 1 ? causes[0] : new AggregateError(causes) } : undefined,
    );
  return sources;
}

export function loadSources(
  path: string,
  env: Record<string, string | undefined> = process.env,
): Map<string, SourceConfig> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new SourcesConfigError(
      [`cannot read sources file ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`],
      { cause: error },
    );
  }
  return parseSources(text, env);
}
