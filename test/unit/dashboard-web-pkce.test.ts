// The pure parts of the page's OIDC sign-in (services/dashboard/web/pkce.ts): the PKCE challenge,
// the authorization request, the checks on the provider's answer (state, issuer, error, nonce),
// and the end-session request of the sign-out.
import { expect, test } from "bun:test";
import {
  authorizationUrl,
  checkCallback,
  endSessionUrl,
  isCallback,
  jwtClaims,
  nonceMatches,
  type PendingSignIn,
  pkceChallenge,
  randomToken,
} from "../../services/dashboard/web/pkce.ts";

const ISSUER = "https://login.example.com";
const pending: PendingSignIn = {
  state: "s".repeat(43),
  nonce: "n".repeat(43),
  verifier: "v".repeat(43),
  redirectUri: "https://dash.example.com/",
};
const answer = (params: Record<string, string>) => new URLSearchParams(params);

test("the S256 challenge is RFC 7636's example (Appendix B)", async () => {
  expect(await pkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe(
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
  );
});

test("random tokens are 43 base64url characters (a valid verifier) and differ", () => {
  const a = randomToken();
  expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(randomToken()).not.toBe(a);
});

test("the authorization request asks for a code with PKCE S256, state and nonce", () => {
  const url = new URL(
    authorizationUrl(`${ISSUER}/auth?prompt=login`, {
      clientId: "page",
      scopes: "openid roles",
      redirectUri: pending.redirectUri,
      state: pending.state,
      nonce: pending.nonce,
      challenge: "abc",
    }),
  );
  expect(Object.fromEntries(url.searchParams)).toEqual({
    prompt: "login",
    response_type: "code",
    client_id: "page",
    redirect_uri: pending.redirectUri,
    scope: "openid roles",
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: "abc",
    code_challenge_method: "S256",
  });
});

test("an answer with the state sent gives its code", () => {
  const params = answer({ code: "c1", state: pending.state, iss: ISSUER });
  expect(isCallback(params)).toBe(true);
  expect(checkCallback(params, pending, ISSUER, "Login")).toEqual({ ok: true, code: "c1" });
});

test("a wrong or missing state, no sign-in started, another issuer: refused", () => {
  const refused = (params: URLSearchParams, p: PendingSignIn | null = pending) => {
    const r = checkCallback(params, p, ISSUER, "Login");
    return r.ok ? "accepted" : r.message;
  };
  expect(refused(answer({ code: "c1", state: `${pending.state.slice(1)}x` }))).toContain("(state)");
  expect(refused(answer({ code: "c1", state: "short" }))).toContain("(state)");
  expect(refused(answer({ code: "c1" }))).toContain("(state)");
  expect(refused(answer({ code: "c1", state: pending.state }), null)).toContain("No sign-in was started");
  expect(refused(answer({ code: "c1", state: pending.state, iss: "https://evil.example" }))).toContain("(issuer)");
});

test("the provider's refusal is named, with its description", () => {
  const r = checkCallback(
    answer({ error: "access_denied", error_description: "End-User aborted interaction", state: pending.state }),
    pending,
    ISSUER,
    "Login",
  );
  expect(r).toEqual({ ok: false, message: "Login refused the sign-in: access_denied (End-User aborted interaction)." });
  expect(isCallback(answer({ error: "access_denied", state: "x" }))).toBe(true);
  expect(isCallback(answer({ q: "x" }))).toBe(false);
});

const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.c2ln`;

test("the ID token's nonce must be the one sent", () => {
  expect(jwtClaims(jwt({ sub: "ü", nonce: pending.nonce }))).toEqual({ sub: "ü", nonce: pending.nonce });
  expect(nonceMatches(jwt({ nonce: pending.nonce }), pending.nonce)).toBe(true);
  expect(nonceMatches(jwt({ nonce: "other" }), pending.nonce)).toBe(false);
  expect(nonceMatches(jwt({}), pending.nonce)).toBe(false);
  expect(nonceMatches("not-a-jwt", pending.nonce)).toBe(false);
  expect(nonceMatches("", pending.nonce)).toBe(false);
});

test("the end-session request names the ID token, where to come back and the client, keeping the endpoint's own query", () => {
  const url = new URL(
    endSessionUrl(`${ISSUER}/session/end?ui_locales=de`, {
      idToken: "h.p.s",
      postLogoutRedirectUri: "https://dash.example.com/",
      clientId: "page",
    }),
  );
  expect(`${url.origin}${url.pathname}`).toBe(`${ISSUER}/session/end`);
  expect(Object.fromEntries(url.searchParams)).toEqual({
    ui_locales: "de",
    id_token_hint: "h.p.s",
    post_logout_redirect_uri: "https://dash.example.com/",
    client_id: "page",
  });
});
