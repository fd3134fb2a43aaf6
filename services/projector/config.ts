import {
  commonConfig,
  databaseTlsConfig,
  databaseUrlConfig,
  entry,
  env,
  keyringConfig,
  readConfig,
  redisTlsConfig,
  sourcesFileConfig,
} from "../../shared/config.ts";
import { healthTokensConfig } from "../../shared/http/health-auth.ts";
import { consumerConfigSpec, streamConfigSpec } from "../../shared/stream-limits.ts";

export const projectorConfigSpec = {
  ...commonConfig,
  // Applied when this service provisions the streams (HOOKLINE_PROVISION).
  ...streamConfigSpec,
  port: entry("PORT", env.port, "8081"),
  databaseUrl: databaseUrlConfig,
  ...databaseTlsConfig,
  redisUrl: entry("REDIS_URL", env.redisUrl, "redis://127.0.0.1:6379", true),
  ...redisTlsConfig,
  sourcesFile: sourcesFileConfig,
  // The keys that seal patient data at rest (shared/crypto/keys.ts reads them).
  ...keyringConfig,
  batchSize: entry("BATCH_SIZE", env.int(1, 10_000), "500"),
  batchDelayMs: entry("BATCH_DELAY_MS", env.int(1, 60_000), "20"),
  concurrency: entry("PROJECT_CONCURRENCY", env.int(1, 16), "3"),
  maxDeliver: entry("MAX_DELIVER", env.int(1, 100), "5"),
  // At least 10 ms: a redelivery without a delay comes back at once, and a database outage
  // would have every message going round in a busy loop.
  retryDelayMs: entry("RETRY_DELAY_MS", env.int(10, 600_000), "2000"),
  ...consumerConfigSpec,
  provision: entry("HOOKLINE_PROVISION", env.bool, "true"),
  // Months of raw events (webhook_events, with their duplicate-guard rows) kept before
  // maintenance drops them; 0 keeps them forever. 12: a year of raw payloads for audits and
  // for re-mapping after a mapping fix, while patient payloads and the guard table stop
  // growing without bound. Deduplication needs days (provider retries, webhooks waiting in WEBHOOKS).
  rawEventRetentionMonths: entry("RAW_EVENT_RETENTION_MONTHS", env.int(0, 1200), "12"),
  /** The admin tokens /health/detailed accepts (optional here: unset, it refuses everyone). */
  healthTokens: healthTokensConfig,
};

export const readProjectorConfig = (source: Record<string, string | undefined> = process.env) =>
  readConfig(projectorConfigSpec, source);
