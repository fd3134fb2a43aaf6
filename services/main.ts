#!/usr/bin/env bun
// Entry of the one hookline executable (ops/build compiles it to dist/hookline):
// `hookline ingress|projector|dashboard|provision` runs that service's composition root, and
// `hookline tokens|keys|audit|patients|reproject` the operators' commands of ops/hookline, so that they
// work where only the image is (e.g. `kubectl exec deploy/hookline-dashboard -- /hookline tokens list`).
// Each case imports a literal path so that `bun build --compile` bundles all four; only the
// chosen one is evaluated. Configuration comes from the environment, as with `bun services/…`.
import process from "node:process";
import { provisionConfigSpec } from "../ops/provision-config.ts";
import { type ConfigEntry, commonConfig } from "../shared/config.ts";
import { dashboardConfigSpec } from "./dashboard/config.ts";
import { ingressConfigSpec } from "./ingress/config.ts";
import { projectorConfigSpec } from "./projector/config.ts";

const COMMON_NAMES = new Set(Object.values(commonConfig).map((e) => e.name));

/** NAME=default, NAME (optional) or NAME* (required; in development a dev default may apply). */
const described = (e: ConfigEntry<unknown>) =>
  e.default ? `${e.name}=${e.default}` : e.default === "" ? e.name : `${e.name}*`;

/** Names, comma-separated, wrapped under a label. */
function wrapped(label: string, names: string[]): string {
  const lines = [""];
  for (const n of names) {
    if (lines.at(-1)!.length + n.length > 96) lines.push("");
    lines[lines.length - 1] += `${lines.at(-1) ? ", " : ""}${n}`;
  }
  return `${label}${lines.join(`,\n${" ".repeat(label.length)}`)}`;
}

/**
 * A command's own variables, read from the config spec the command reads (so a new variable shows
 * up here by itself); those every service shares are under COMMON.
 */
const envOf = (spec: Record<string, ConfigEntry<unknown>>) =>
  wrapped(
    "env: ",
    Object.values(spec)
      .filter((e) => !COMMON_NAMES.has(e.name))
      .map(described),
  );

const COMMON = `${wrapped("env (all): ", [...Object.values(commonConfig).map(described), "OTEL_* (the standard variables)"])}
NAME=value: its default; NAME*: required (HOOKLINE_ENV=development supplies public dev values for some)`;

const COMMANDS = {
  ingress: `hookline ingress: receive webhooks (POST /v1/webhooks/:source), publish to JetStream (default port 8080)
${envOf(ingressConfigSpec)}`,
  projector: `hookline projector: turn JetStream messages into Postgres records; migrates the schema on start (port 8081)
${envOf(projectorConfigSpec)}`,
  dashboard: `hookline dashboard: the patients API (/api/v1/...) and web page (default port 3000)
${envOf(dashboardConfigSpec)}`,
  provision: `hookline provision: apply database migrations and create/update the JetStream streams and consumer, then exit
(idempotent; a pre-install/pre-upgrade job)
${envOf(provisionConfigSpec)}`,
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
