import * as v from "valibot";
import {
  ConfigError,
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
import type { OidcSettings } from "./oidc.ts";
import { isRole, ROLES, type Role } from "./roles.ts";

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

/** OIDC_ROLE_MAP: "claim value=role" pairs, comma-separated. */
const roleMap = v.pipe(
  v.string(),
  v.check(
    (s) =>
      s
        .split(",")
        .filter((pair) => pair.trim())
        .every(
          (pair) =>
            pair.includes("=") &&
            pair.slice(0, pair.lastIndexOf("=")).trim() !== "" &&
            isRole(pair.slice(pair.lastIndexOf("=") + 1).trim()),
        ),
    `must be value=role pairs, comma-separated, each role one of: ${ROLES.join(", ")}`,
  ),
  v.transform((s) => {
    const map: Record<string, Role> = {};
    for (const pair of s.split(",").filter((p) => p.trim()))
      map[pair.slice(0, pair.lastIndexOf("=")).trim()] = pair.slice(pair.lastIndexOf("=") + 1).trim() as Role;
    return map;
  }),
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
  // Optional OIDC (services/dashboard/oidc.ts): issuer, JWKS URL and audience together, or none.
  oidcIssuer: entry("OIDC_ISSUER", v.pipe(v.string(), v.trim()), ""),
  oidcJwksUrl: entry("OIDC_JWKS_URL", v.pipe(v.string(), v.trim()), ""),
  oidcAudience: entry("OIDC_AUDIENCE", v.pipe(v.string(), v.trim()), ""),
  oidcRoleClaim: entry("OIDC_ROLE_CLAIM", env.nonEmpty, "roles"),
  oidcRoleMap: entry("OIDC_ROLE_MAP", roleMap, ""),
};

const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost"]);

/** The OIDC settings when OIDC_ISSUER, OIDC_JWKS_URL and OIDC_AUDIENCE are all set; none set: undefined. */
function oidcSettings(c: ReturnType<typeof readConfig<typeof dashboardConfigSpec>>): OidcSettings | undefined {
  const given = [c.oidcIssuer, c.oidcJwksUrl, c.oidcAudience].filter(Boolean).length;
  if (given === 0) return undefined;
  // Without an audience, a token the provider issued to any other application would be accepted.
  if (given < 3)
    throw new ConfigError(["OIDC_ISSUER, OIDC_JWKS_URL and OIDC_AUDIENCE go together: set all three or none"]);
  let jwks: URL | undefined;
  try {
    jwks = new URL(c.oidcJwksUrl);
  } catch {}
  // The keys decide who gets in: fetched over TLS, except from this host (tests, a local proxy).
  if (!jwks || !(jwks.protocol === "https:" || (jwks.protocol === "http:" && LOOPBACK.has(jwks.hostname))))
    throw new ConfigError([
      `OIDC_JWKS_URL=${JSON.stringify(c.oidcJwksUrl)}: must be an https URL (http only to this host)`,
    ]);
  return {
    issuer: c.oidcIssuer,
    jwksUrl: c.oidcJwksUrl,
    audience: c.oidcAudience,
    roleClaim: c.oidcRoleClaim,
    roleMap: c.oidcRoleMap,
  };
}

export function readDashboardConfig(source: Record<string, string | undefined> = process.env) {
  const config = readConfig(dashboardConfigSpec, source);
  return { ...config, oidc: oidcSettings(config) };
}
