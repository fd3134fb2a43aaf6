import * as v from "valibot";
import { apiTokens } from "../../shared/auth/bearer.ts";
import { isRole, ROLES, type Role } from "../../shared/auth/roles.ts";
import {
  ConfigError,
  commonConfig,
  databaseTlsConfig,
  databaseUrlConfig,
  devEntry,
  entry,
  env,
  keyringConfig,
  readConfig,
  redisTlsConfig,
  sourcesFileConfig,
} from "../../shared/config.ts";
import { DEV_CREDENTIALS } from "../../shared/dev-credentials.ts";
import type { OidcSettings } from "./oidc.ts";

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

const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost"]);
const isLoopbackUrl = (url: string) => LOOPBACK.has(new URL(url).hostname);

/** An https URL, or http to this host (tests, a local proxy): what the identity provider's URLs must be. */
export function isSecureUrl(s: string): boolean {
  try {
    const url = new URL(s);
    return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.has(url.hostname));
  } catch {
    return false;
  }
}

/** OIDC_JWKS_URL: the keys decide who gets in, so fetched over TLS, except from this host. */
const jwksUrl = v.pipe(
  v.string(),
  v.trim(),
  v.check((s) => s === "" || isSecureUrl(s), "must be an https URL (http only to this host)"),
);

/** OIDC_REDIRECT_URI: where the provider sends the browser back with the code (the page, `/`). */
const redirectUri = v.pipe(
  v.string(),
  v.trim(),
  v.check(
    (s) => s === "" || (isSecureUrl(s) && !new URL(s).hash),
    "must be an https URL without fragment (http only to this host), e.g. https://dashboard.example.com/",
  ),
);

/** OIDC_SCOPES: space-separated; an OpenID Connect sign-in asks for openid at least. */
const scopes = v.pipe(
  v.string(),
  v.trim(),
  v.check((s) => s.split(/\s+/).includes("openid"), "must include openid (space-separated scopes)"),
);

export const dashboardConfigSpec = {
  ...commonConfig,
  port: entry("PORT", env.port, "3000"),
  /**
   * A port of its own for /metrics, apart from the API and page: behind an HTTP Ingress that
   * routes the dashboard's host to PORT, /metrics there was public. 0: served on PORT (local).
   */
  metricsPort: entry("METRICS_PORT", env.int(0, 65535), "0"),
  databaseUrl: databaseUrlConfig,
  ...databaseTlsConfig,
  redisUrl: entry("REDIS_URL", env.redisUrl, "redis://127.0.0.1:6379", true),
  ...redisTlsConfig,
  sourcesFile: sourcesFileConfig,
  // The keys that open patient data and search it by blind index (shared/crypto/keys.ts).
  ...keyringConfig,
  /** "token=role" pairs, comma-separated; the public dev token only with HOOKLINE_ENV=development. */
  apiTokens: devEntry("DASHBOARD_API_TOKENS", apiTokens, `${DEV_CREDENTIALS.dashboardAdminToken}=admin`, true),
  cacheTtlSeconds: entry("CACHE_TTL_SECONDS", env.int(0, 86_400), "30"),
  /**
   * Where senders reach the ingress: the base of the webhook URLs the clients API hands out.
   * The local ingress only in development: elsewhere a loopback URL handed to a clinic is useless.
   */
  publicWebhookBaseUrl: devEntry(
    "PUBLIC_WEBHOOK_BASE_URL",
    v.pipe(
      v.string(),
      v.trim(),
      v.check((s) => {
        try {
          const url = new URL(s);
          return (url.protocol === "https:" || url.protocol === "http:") && !url.search && !url.hash;
        } catch {
          return false;
        }
      }, "must be an http(s) URL without query or fragment, e.g. https://hooks.example.com"),
    ),
    "http://127.0.0.1:8080",
  ),
  // Optional OIDC (services/dashboard/oidc.ts): issuer, JWKS URL and audience together, or none.
  oidcIssuer: entry("OIDC_ISSUER", v.pipe(v.string(), v.trim()), ""),
  oidcJwksUrl: entry("OIDC_JWKS_URL", jwksUrl, ""),
  oidcAudience: entry("OIDC_AUDIENCE", v.pipe(v.string(), v.trim()), ""),
  oidcRoleClaim: entry("OIDC_ROLE_CLAIM", env.nonEmpty, "roles"),
  oidcRoleMap: entry("OIDC_ROLE_MAP", roleMap, ""),
  // The page's own sign-in (web/oidc.ts, oidc-signin.ts): a public client (no secret) using the
  // Authorization Code flow with PKCE. Off without a client id; needs the three above.
  oidcClientId: entry("OIDC_CLIENT_ID", v.pipe(v.string(), v.trim()), ""),
  oidcScopes: entry("OIDC_SCOPES", scopes, "openid profile email"),
  oidcRedirectUri: entry("OIDC_REDIRECT_URI", redirectUri, ""),
  oidcProviderName: entry("OIDC_PROVIDER_NAME", v.pipe(v.string(), v.trim(), v.maxLength(80)), ""),
};

const OIDC_TOGETHER = ["OIDC_ISSUER", "OIDC_JWKS_URL", "OIDC_AUDIENCE"];

/**
 * Reads the dashboard's configuration, with `oidc` set when OIDC_ISSUER, OIDC_JWKS_URL and
 * OIDC_AUDIENCE all are. Without an audience, a token the provider issued to any other
 * application would be accepted: one or two of them set is an error, listed with the others.
 */
export function readDashboardConfig(source: Record<string, string | undefined> = process.env) {
  const given = OIDC_TOGETHER.filter((name) => source[name]?.trim()).length;
  const together =
    given === 0 || given === OIDC_TOGETHER.length ? [] : [`${OIDC_TOGETHER.join(", ")} go together: set all or none`];
  let config: ReturnType<typeof readConfig<typeof dashboardConfigSpec>>;
  try {
    config = readConfig(dashboardConfigSpec, source);
  } catch (error) {
    throw error instanceof ConfigError && together.length ? new ConfigError([...error.problems, ...together]) : error;
  }
  if (together.length) throw new ConfigError(together);
  if (config.metricsPort !== 0 && config.metricsPort === config.port)
    throw new ConfigError(["METRICS_PORT must differ from PORT (0 serves /metrics on PORT)"]);
  if (config.hooklineEnv === "production" && isLoopbackUrl(config.publicWebhookBaseUrl))
    throw new ConfigError([
      "PUBLIC_WEBHOOK_BASE_URL must be where senders reach the ingress, not this host (HOOKLINE_ENV=production)",
    ]);
  if (config.oidcClientId && !given)
    throw new ConfigError([
      `OIDC_CLIENT_ID needs ${OIDC_TOGETHER.join(", ")}: the page signs in with the tokens they check`,
    ]);
  // The page's sign-in reads the provider's endpoints from the issuer's discovery document.
  if (config.oidcClientId && !isSecureUrl(config.oidcIssuer))
    throw new ConfigError(["OIDC_ISSUER must be an https URL (http only to this host) for the page's sign-in"]);
  const oidc: OidcSettings | undefined = given
    ? {
        issuer: config.oidcIssuer,
        jwksUrl: config.oidcJwksUrl,
        audience: config.oidcAudience,
        roleClaim: config.oidcRoleClaim,
        roleMap: config.oidcRoleMap,
        signIn: config.oidcClientId
          ? {
              clientId: config.oidcClientId,
              scopes: config.oidcScopes.split(/\s+/).join(" "),
              redirectUri: config.oidcRedirectUri || null,
              // Named on the button ("Sign in with …"); the issuer's host when not set.
              providerName: config.oidcProviderName || new URL(config.oidcIssuer).host,
            }
          : undefined,
      }
    : undefined;
  return { ...config, oidc };
}
