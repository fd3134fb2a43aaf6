#!/usr/bin/env bun
// Entry of the one hookline executable (ops/build compiles it to dist/hookline):
// `hookline ingress|projector|dashboard|provision` runs that service's composition root, and
// `hookline tokens|keys|audit|patients|reproject` the operators' commands of ops/hookline, so that they
// work where only the image is (e.g. `kubectl exec deploy/hookline-dashboard -- /hookline tokens list`).
// Each case imports a literal path so that `bun build --compile` bundles all four; only the
// chosen one is evaluated. Configuration comes from the environment, as with `bun services/…`.
import process from "node:process";
import { keyringConfig } from "../shared/config.ts";
import { streamConfigSpec } from "../shared/stream-limits.ts";

/** The stream-limit variables, named by their config entries (one list, not three copies). */
const STREAM_ENV = Object.values(streamConfigSpec)
  .map((e) => e.name)
  .join(", ");

/** The keyring variables (patient data at rest), from their config entries. */
const KEYS_ENV = Object.values(keyringConfig)
  .map((e) => e.name)
  .join(", ");

const COMMON = `env (all): HOOKLINE_ENV (development enables the public dev defaults), NATS_URL, HOST, PORT, LOG_LEVEL,
           OTEL_EXPORTER_OTLP_ENDPOINT and the other standard OTEL_* variables,
           NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY (PEM files), TLS_MIN_VERSION, ALLOW_INSECURE_CONNECTIONS`;

const COMMANDS = {
  ingress: `hookline ingress: receive webhooks (POST /v1/webhooks/:source), publish to JetStream (default port 8080)
env: HOOKLINE_SOURCES (path of the sources file), PUBLISH_TIMEOUT_MS, TRUSTED_PROXIES, HOOKLINE_PROVISION,
     MAX_IN_FLIGHT (webhooks at once, default 1024; more get 503 overloaded),
     REDIS_URL (optional; set: per-source rate limits shared by all ingress pods, unset: per pod), REDIS_TLS_*,
     DASHBOARD_API_TOKENS (optional; its admin tokens open /health/detailed), ${STREAM_ENV}`,
  projector: `hookline projector: turn JetStream messages into Postgres records; migrates the schema on start (port 8081)
env: DATABASE_URL, REDIS_URL, DATABASE_TLS_*, REDIS_TLS_* (_CA, _CERT, _KEY), ${KEYS_ENV}, BATCH_SIZE, BATCH_DELAY_MS,
     ACK_WAIT_SECONDS, MAX_DELIVER, RETRY_DELAY_MS, PROJECT_CONCURRENCY, RAW_EVENT_RETENTION_MONTHS, HOOKLINE_PROVISION,
     DASHBOARD_API_TOKENS (optional; its admin tokens open /health/detailed), stream limits as for ingress`,
  dashboard: `hookline dashboard: the patients API (/api/v1/...) and web page (default port 3000)
env: DATABASE_URL, REDIS_URL, DATABASE_TLS_*, REDIS_TLS_*, ${KEYS_ENV}, DASHBOARD_API_TOKENS (token=role,...),
     CACHE_TTL_SECONDS,
     HOOKLINE_SOURCES`,
  provision: `hookline provision: apply database migrations and create/update the JetStream streams and consumer, then exit
(idempotent; a pre-install/pre-upgrade job)
env: DATABASE_URL, DATABASE_TLS_CA, DATABASE_TLS_CERT, DATABASE_TLS_KEY, ${STREAM_ENV}`,
} as const;

type Command = keyof typeof COMMANDS;

/** The operators' commands, each taking its own arguments and returning its exit code. */
const OPERATOR_COMMANDS: Record<string, () => Promise<(args: string[]) => Promise<number>>> = {
  tokens: async () => (await import("../ops/tokens.ts")).tokensCommand,
  keys: async () => (await import("../ops/keys.ts")).keysCommand,
  audit: async () => (await import("../ops/audit.ts")).auditCommand,
  patients: async () => (await import("../ops/patients.ts")).patientsCommand,
  reproject: async () => (await import("../ops/reproject.ts")).reprojectCommand,
};

const USAGE = `usage: hookline <command> [--help]
commands:
${Object.values(COMMANDS)
  .map((text) => `  ${text.split("\n")[0]!.slice("hookline ".length)}`)
  .join("\n")}
  ${Object.keys(OPERATOR_COMMANDS).join("|")} ...: the operators' commands, as ops/hookline has them (README)
${COMMON}`;

const isCommand = (s: string | undefined): s is Command => s !== undefined && Object.hasOwn(COMMANDS, s);
const isHelp = (s: string | undefined) => s === "--help" || s === "-h";

const [command, ...rest] = process.argv.slice(2);
const operatorCommand =
  command !== undefined && Object.hasOwn(OPERATOR_COMMANDS, command) ? OPERATOR_COMMANDS[command] : undefined;
if (operatorCommand) process.exit(await (await operatorCommand())(rest));
if (isHelp(command) || (command === "help" && rest.length === 0)) {
  console.log(USAGE);
  process.exit(0);
}
if (!isCommand(command) || rest.length > 1 || (rest.length === 1 && !isHelp(rest[0]))) {
  console.error(
    command === undefined ? USAGE : `hookline: unknown command "${process.argv.slice(2).join(" ")}"\n${USAGE}`,
  );
  process.exit(2);
}
if (rest.length === 1) {
  console.log(`${COMMANDS[command]}\n${COMMON}`);
  process.exit(0);
}

switch (command) {
  case "ingress":
    await import("./ingress/main.ts");
    break;
  case "projector":
    await import("./projector/main.ts");
    break;
  case "dashboard":
    await import("./dashboard/main.ts");
    break;
  case "provision":
    await import("../ops/provision.ts");
    break;
}
