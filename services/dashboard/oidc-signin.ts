// What the page needs to sign in at the OpenID Connect provider itself (web/oidc.ts): the
// client id, scopes and the provider's authorization, token and end-session endpoints, read from the issuer's
// discovery document (/.well-known/openid-configuration) on first use and kept once it checked
// out. GET /api/v1/auth/config is public (the page asks before anyone signed in) and holds no
// secret: the page is a public client and proves itself with PKCE. GET /api/v1/auth/me tells
// the signed-in page who it is and with which role.
import { Elysia } from "elysia";
import * as v from "valibot";
import { errorResponse, json } from "../../shared/http/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import { callerOf } from "./audit.ts";
import { isSecureUrl } from "./config.ts";
import type { OidcSettings } from "./oidc.ts";
import { routeDoc } from "./route-doc.ts";

/** GET /api/v1/auth/config's `oidc`: everything public, nothing the page could misuse. */
export interface PageOidcConfig {
  providerName: string;
  issuer: string;
  clientId: string;
  scopes: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /**
   * Where sign-out sends the browser to end the provider's session too (OpenID Connect
   * RP-Initiated Logout 1.0); null when the provider's discovery document names none.
   */
  endSessionEndpoint: string | null;
  /** null: the page's own address (origin and `/`); also where the provider sends it back after sign-out. */
  redirectUri: string | null;
  /**
   * Which token the page sends as its bearer: the ID token when the API's audience is this
   * client (an ID token's audience always is), else the access token (a JWT for that audience).
   */
  bearer: "id_token" | "access_token";
}

const DISCOVERY_TIMEOUT_MS = 5_000;

// A URL that goes into the page's CSP (connect-src) must not carry a separator of its directives.
const endpoint = v.pipe(
  v.string(),
  v.check((s) => isSecureUrl(s) && !/[\s;,]/.test(s), "must be an https URL (http only to this host)"),
);
const Discovery = v.object({
  issuer: v.string(),
  authorization_endpoint: endpoint,
  token_endpoint: endpoint,
  end_session_endpoint: v.optional(endpoint),
  code_challenge_methods_supported: v.optional(v.array(v.string())),
});

/** The provider's settings for the page, from its discovery document; throws (code oidc_discovery_failed) when unusable. */
export async function discoverPageConfig(settings: OidcSettings): Promise<PageOidcConfig | null> {
  const client = settings.signIn;
  if (!client) return null;
  const url = `${settings.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  const fail = (reason: string, cause?: unknown) =>
    Object.assign(new Error(`OIDC discovery at ${url} failed: ${reason}`, { cause }), {
      code: "oidc_discovery_failed",
    });
  let body: unknown;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS), redirect: "error" });
    if (!res.ok) throw fail(`HTTP ${res.status}`);
    body = await res.json();
  } catch (error) {
    throw (error as { code?: string }).code === "oidc_discovery_failed" ? error : fail("no JSON answer", error);
  }
  const parsed = v.safeParse(Discovery, body);
  if (!parsed.success) throw fail(parsed.issues.map((i) => `${v.getDotPath(i) ?? "document"} ${i.message}`).join("; "));
  const d = parsed.output;
  // OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was fetched for.
  if (d.issuer !== settings.issuer) throw fail(`it names issuer ${d.issuer}, not ${settings.issuer}`);
  if (d.code_challenge_methods_supported && !d.code_challenge_methods_supported.includes("S256"))
    throw fail("the provider does not offer PKCE with S256");
  return {
    providerName: client.providerName,
    issuer: settings.issuer,
    clientId: client.clientId,
    scopes: client.scopes,
    authorizationEndpoint: d.authorization_endpoint,
    tokenEndpoint: d.token_endpoint,
    endSessionEndpoint: d.end_session_endpoint ?? null,
    redirectUri: client.redirectUri,
    bearer: settings.audience === client.clientId ? "id_token" : "access_token",
  };
}

/** The page's OIDC settings, discovered once (a failure is retried at the next ask). */
export function pageOidcConfig(settings: OidcSettings | undefined, log: Logger): () => Promise<PageOidcConfig | null> {
  let found: Promise<PageOidcConfig | null> | undefined;
  return () => {
    if (!settings?.signIn) return Promise.resolve(null);
    found ??= discoverPageConfig(settings).catch((error) => {
      found = undefined;
      log.warn({ err: (error as Error).message, code: (error as { code?: string }).code }, "OIDC discovery failed");
      throw error;
    });
    return found;
  };
}

/** GET /api/v1/auth/config (public): the page's sign-in settings, or null without OIDC sign-in. */
export function authConfigRoute(config: () => Promise<PageOidcConfig | null>) {
  return new Elysia({ name: "auth-config" }).get("/api/v1/auth/config", async () => {
    try {
      return json({ oidc: await config() });
    } catch {
      return errorResponse(503, "auth_unavailable", "the identity provider could not be reached; retry", {
        "retry-after": "5",
      });
    }
  });
}

const Me = v.object({ name: v.string(), role: v.string() });

/** GET /api/v1/auth/me (any role): the caller's name and role, for the page's header. */
export function whoAmIRoute() {
  return new Elysia({ name: "auth-me" }).get(
    "/api/v1/auth/me",
    (context) => {
      const { name, role } = callerOf(context);
      return json({ name, role });
    },
    routeDoc({ summary: "Who the bearer token belongs to", responses: { 200: ["the caller's name and role", Me] } }),
  );
}
