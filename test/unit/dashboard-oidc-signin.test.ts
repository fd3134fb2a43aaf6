// The page's OIDC sign-in on the server side: its settings (OIDC_CLIENT_ID, OIDC_SCOPES,
// OIDC_REDIRECT_URI, OIDC_PROVIDER_NAME), the checks on the provider's discovery document, and the
// page's CSP, which lets the page reach the token endpoint only when sign-in is configured.
import { afterAll, describe, expect, test } from "bun:test";
import { readDashboardConfig } from "../../services/dashboard/config.ts";
import type { OidcSettings } from "../../services/dashboard/oidc.ts";
import { discoverPageConfig, type PageOidcConfig } from "../../services/dashboard/oidc-signin.ts";
import { pageCsp } from "../../services/dashboard/page.ts";
import { SECURITY_HEADERS } from "../../shared/http/security-headers.ts";

const base = {
  HOOKLINE_ENV: "development",
  OIDC_ISSUER: "https://idp.test/realms/clinic",
  OIDC_JWKS_URL: "https://idp.test/jwks",
  OIDC_AUDIENCE: "hookline-page",
};

describe("configuration", () => {
  test("without OIDC_CLIENT_ID: tokens verified, no page sign-in", () => {
    expect(readDashboardConfig(base).oidc?.signIn).toBeUndefined();
  });
  test("with it: a public client, default scopes, the page's own address, the issuer's host as its name", () => {
    expect(readDashboardConfig({ ...base, OIDC_CLIENT_ID: "hookline-page" }).oidc?.signIn).toEqual({
      clientId: "hookline-page",
      scopes: "openid profile email",
      redirectUri: null,
      providerName: "idp.test",
    });
    const set = readDashboardConfig({
      ...base,
      OIDC_CLIENT_ID: "hookline-page",
      OIDC_SCOPES: " openid  roles ",
      OIDC_REDIRECT_URI: "https://dash.example.com/",
      OIDC_PROVIDER_NAME: "Clinic Login",
    }).oidc?.signIn;
    expect(set).toEqual({
      clientId: "hookline-page",
      scopes: "openid roles",
      redirectUri: "https://dash.example.com/",
      providerName: "Clinic Login",
    });
  });
  test("refused: a client id without the provider, scopes without openid, a redirect URI without TLS", () => {
    expect(() => readDashboardConfig({ HOOKLINE_ENV: "development", OIDC_CLIENT_ID: "x" })).toThrow(
      /OIDC_CLIENT_ID needs/,
    );
    expect(() => readDashboardConfig({ ...base, OIDC_CLIENT_ID: "x", OIDC_SCOPES: "profile" })).toThrow(/openid/);
    expect(() =>
      readDashboardConfig({ ...base, OIDC_CLIENT_ID: "x", OIDC_REDIRECT_URI: "http://dash.example.com/" }),
    ).toThrow(/OIDC_REDIRECT_URI/);
    expect(() => readDashboardConfig({ ...base, OIDC_ISSUER: "idp", OIDC_CLIENT_ID: "x" })).toThrow(/OIDC_ISSUER/);
  });
});

describe("discovery", () => {
  let document: Record<string, unknown> = {};
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json(document) });
  afterAll(() => server.stop(true));
  const issuer = `http://127.0.0.1:${server.port}`;
  const settings = (audience = "page"): OidcSettings => ({
    issuer,
    jwksUrl: `${issuer}/jwks`,
    audience,
    roleClaim: "roles",
    roleMap: {},
    signIn: { clientId: "page", scopes: "openid", redirectUri: null, providerName: "IdP" },
  });
  const good = () => ({
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    code_challenge_methods_supported: ["S256"],
  });

  test("the endpoints from the issuer's document; the ID token as bearer when the API's audience is the page", async () => {
    document = good();
    expect(await discoverPageConfig(settings())).toEqual({
      providerName: "IdP",
      issuer,
      clientId: "page",
      scopes: "openid",
      authorizationEndpoint: `${issuer}/auth`,
      tokenEndpoint: `${issuer}/token`,
      endSessionEndpoint: null,
      redirectUri: null,
      bearer: "id_token",
    } satisfies PageOidcConfig);
    expect((await discoverPageConfig(settings("hookline-api")))?.bearer).toBe("access_token");
    document = { ...good(), end_session_endpoint: `${issuer}/session/end` };
    expect((await discoverPageConfig(settings()))?.endSessionEndpoint).toBe(`${issuer}/session/end`);
  });
  test("refused: another issuer, no S256, an endpoint (token, end-session) without TLS or one that would break the CSP", async () => {
    for (const [change, reason] of [
      [{ issuer: "https://evil.test" }, /names issuer/],
      [{ code_challenge_methods_supported: ["plain"] }, /S256/],
      [{ token_endpoint: "http://idp.example/token" }, /token_endpoint/],
      [{ token_endpoint: `${issuer}/token; script-src *` }, /token_endpoint/],
      [{ end_session_endpoint: "http://idp.example/session/end" }, /end_session_endpoint/],
    ] as const) {
      document = { ...good(), ...change };
      await expect(discoverPageConfig(settings())).rejects.toThrow(reason);
    }
  });
});

test("the page's CSP reaches the provider's token endpoint only when sign-in is configured", () => {
  const base = SECURITY_HEADERS["content-security-policy"];
  expect(pageCsp(null)).toBe(base!);
  expect(pageCsp({ tokenEndpoint: "https://idp.test/token" } as PageOidcConfig)).toBe(
    `${base}; connect-src 'self' https://idp.test/token`,
  );
});
