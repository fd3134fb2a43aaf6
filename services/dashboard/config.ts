import { commonConfig, entry, env, readConfig } from "../../shared/config.ts";

export const dashboardConfigSpec = {
  ...commonConfig,
  port: entry("PORT", env.port, "3000"),
  databaseUrl: entry("DATABASE_URL", env.databaseUrl, "postgres://hookline:hookline@127.0.0.1:5432/hookline", true),
  redisUrl: entry("REDIS_URL", env.redisUrl, "redis://127.0.0.1:6379", true),
  sourcesFile: entry("HOOKLINE_SOURCES", env.nonEmpty, "ops/dev/sources.yaml"),
  /** "token=role" pairs, comma-separated. Dev default is documented as dev-only. */
  apiTokens: entry("DASHBOARD_API_TOKENS", env.nonEmpty, "dev-admin-token=admin", true),
  cacheTtlSeconds: entry("CACHE_TTL_SECONDS", env.int(0, 86_400), "30"),
};

export const readDashboardConfig = (source: Record<string, string | undefined> = process.env) => readConfig(dashboardConfigSpec, source);
