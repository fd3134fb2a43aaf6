// What the operators' commands (ops/hookline audit|keys|tokens|patients|dlq|stream|reproject)
// share: the database, NATS and Redis they open (with the services' TLS settings), the actor
// they record, and one way of turning a failure into an exit code.
import { userInfo } from "node:os";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Redis } from "ioredis";
import { createRedis } from "../shared/cache.ts";
import {
  commonConfig,
  databaseTlsConfig,
  databaseUrlConfig,
  entry,
  env,
  readConfig,
  redisTlsConfig,
} from "../shared/config.ts";
import { createDb, type Sql } from "../shared/db/client.ts";
import { createLogger } from "../shared/logger.ts";
import { connectNats } from "../shared/nats.ts";
import { loadConnectionTls } from "../shared/tls.ts";

/** A mistake in how the command was called: exit 2 with the usage. */
export class UsageError extends Error {
  readonly code = "usage";
}

/** The actor of what an operator does through this CLI: cli:<login name>. */
export function cliActor(): string {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for the uid (a bare container): the environment's word for it.
  }
  return `cli:${user || process.env.USER || "unknown"}`;
}

/**
 * The CLI's database: DATABASE_URL and the DATABASE_TLS_* files as the services read them (so
 * HOOKLINE_ENV=production refuses a plain remote connection here too).
 */
export async function cliDatabase(): Promise<Sql> {
  const config = readConfig({ ...commonConfig, databaseUrl: databaseUrlConfig, ...databaseTlsConfig });
  // Only the database is connected to: NATS_URL is not judged.
  const tls = await loadConnectionTls({ ...config, natsUrl: undefined });
  return createDb(config.databaseUrl, { name: "hookline-cli", max: 2, tls: tls.postgres });
}

/** NATS for a command: NATS_URL with NATS_TLS_* (and the production rules), as the services connect. */
export async function cliNats(): Promise<NatsConnection> {
  const config = readConfig(commonConfig);
  const log = createLogger("cli", "warn");
  const tls = await loadConnectionTls(config, log);
  return connectNats(config.natsUrl, "hookline-cli", log, { tls: tls.nats });
}

/** Redis for a command: REDIS_URL with REDIS_TLS_*, as the services connect (NATS_URL is not judged). */
export async function cliRedis(): Promise<Redis> {
  const config = readConfig({
    ...commonConfig,
    ...redisTlsConfig,
    redisUrl: entry("REDIS_URL", env.redisUrl, "redis://127.0.0.1:6379", true),
  });
  const log = createLogger("cli", "warn");
  const tls = await loadConnectionTls({ ...config, natsUrl: undefined }, log);
  return createRedis(config.redisUrl, "hookline-cli", log, tls.redis);
}

/**
 * The exit code of a command that failed, after saying why on stderr: 2 and the usage for a
 * usage error (a UsageError, a node:util parseArgs error, or one of `usageCodes`), else 1 with
 * the error's code and message.
 */
export function failureExit(error: unknown, usage: string, usageCodes: readonly string[] = []): number {
  const code = (error as { code?: unknown }).code;
  const message = (error as Error).message;
  if (error instanceof UsageError || String(code).startsWith("ERR_PARSE_ARGS") || usageCodes.includes(String(code))) {
    console.error(`${message}\nusage:\n${usage}`);
    return 2;
  }
  console.error(`${code ? `${code}: ` : ""}${message}`);
  return 1;
}
