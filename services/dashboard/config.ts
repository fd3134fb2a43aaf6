import * as v from "valibot";
import {
  commonConfig,
  databaseTlsConfig,
  databaseUrlConfig,
  devEntry,
  entry,
  env,
  readConfig,
  redisTlsConfig,
  sourcesFileConfig,
} from "../../shared/config.ts";
import { DEV_CREDENTIALS } from "../../shared/dev-credentials.ts";
import { ROLES } from "./auth.ts";

// Every pair needs a token before its "=": an empty one would let "Authorization: Bearer " in.
const apiTokens = v.pipe(
  env.nonEmpty,
  v.check(
    (s) => s.split(",").every((pair) => !pair.includes("=") || pair.slice(0, pair.lastIndexOf("=")).trim() !== ""),
    "every token=role pair needs a token",
  ),
  // Checked here so a typo in a role is one more line of the start-up error, not a crash later.
  v.check(
    (s) =>
      s
        .split(",")
        .filter((pair) => pair.includes("="))
        .every((pair) => (ROLES as readonly string[]).includes(pair.slice(pair.lastIndexOf("=") + 1).trim())),
    `every role must be one of: ${ROLES.join(", ")}`,
  ),
);

export const dashboardConfigSpec = {
  ...commonConfig,
  port: entry("PORT", env.port, "3000"),
  databaseUrl: databaseUrlConfig,
  ...databaseTlsConfig,
  redisUrl: entry("REDIS_URL", env.redisUrl, "redis://127.0.0.1:6379", true),
  ...redisTlsConfig,
  sourcesFile: sourcesFileConfig,
  /** "token=role" pairs, comma-separated; the public dev token only with HOOKLINE_ENV=development. */
  apiTokens: devEntry("DASHBOARD_API_TOKENS", apiTokens, `${DEV_CREDENTIALS.dashboardAdminToken}=admin`, true),
  cacheTtlSeconds: entry("CACHE_TTL_SECONDS", env.int(0, 86_400), "30"),
};

export const readDashboardConfig = (source: Record<string, string | undefined> = process.env) =>
  readConfig(dashboardConfigSpec, source);
