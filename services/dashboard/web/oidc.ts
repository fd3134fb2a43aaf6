// The page's sign-in at the OpenID Connect provider: Authorization Code flow with PKCE (S256),
// state and nonce, as a public client (no secret exists to leak). Across the redirect,
// sessionStorage holds only the pending sign-in (state, nonce, PKCE verifier), removed as soon as
// the page is back; the tokens themselves never touch storage or the address bar: the code is
// traded for them by fetch, and the bearer token goes to api.ts's memory like a typed-in one.
import type { PageOidcConfig as OidcConfig } from "../oidc-signin.ts";
import {
  authorizationUrl,
  checkCallback,
  endSessionUrl,
  isCallback,
  nonceMatches,
  type PendingSignIn,
  pkceChallenge,
  randomToken,
} from "./pkce.ts";

/** GET /api/v1/auth/config's `oidc`, as the server declares it (a type: nothing of its module is bundled). */
export type { OidcConfig };

const PENDING_KEY = "hookline.oidc.pending";

/** The page's sign-in settings: null without OIDC sign-in; throws when the dashboard cannot say. */
export async function loadOidcConfig(): Promise<OidcConfig | null> {
  const res = await fetch("/api/v1/auth/config", { cache: "no-store" });
  if (!res.ok) throw new Error("single sign-on is unavailable right now");
  return ((await res.json()) as { oidc: OidcConfig | null }).oidc;
}

const redirectUriOf = (config: OidcConfig) => config.redirectUri ?? `${location.origin}/`;

/** Sends the browser to the provider's sign-in (the page unloads). */
export async function beginSignIn(config: OidcConfig): Promise<void> {
  const pending: PendingSignIn = {
    state: randomToken(),
    nonce: randomToken(),
    verifier: randomToken(),
    redirectUri: redirectUriOf(config),
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  location.assign(
    authorizationUrl(config.authorizationEndpoint, {
      clientId: config.clientId,
      scopes: config.scopes,
      redirectUri: pending.redirectUri,
      state: pending.state,
      nonce: pending.nonce,
      challenge: await pkceChallenge(pending.verifier),
    }),
  );
}

/** Whether the page was opened by the provider's answer. */
export const returningFromProvider = (): boolean => isCallback(new URLSearchParams(location.search));

function takePending(): PendingSignIn | null {
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  try {
    return raw ? (JSON.parse(raw) as PendingSignIn) : null;
  } catch {
    return null;
  }
}

/** A sign-in's bearer token, and its ID token (kept in memory only, as the hint of the sign-out). */
export type SignInResult = { ok: true; token: string; idToken: string } | { ok: false; message: string };

/**
 * Completes a sign-in the provider answered: the pending values are taken out of storage and the
 * code and state out of the address bar (and history) first, whatever follows; then state checked,
 * the code traded for tokens with the verifier, the ID token's nonce checked.
 */
export async function finishSignIn(config: OidcConfig): Promise<SignInResult> {
  const params = new URLSearchParams(location.search);
  const pending = takePending();
  history.replaceState(null, "", `${location.pathname}${location.hash}`);
  const checked = checkCallback(params, pending, config.issuer, config.providerName);
  if (!checked.ok) return checked;
  let res: Response;
  try {
    res = await fetch(config.tokenEndpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: checked.code,
        redirect_uri: pending!.redirectUri,
        client_id: config.clientId,
        code_verifier: pending!.verifier,
      }),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    return { ok: false, message: `${config.providerName} could not be reached to finish the sign-in. Try again.` };
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const reason = typeof body.error === "string" ? body.error : `HTTP ${res.status}`;
    return { ok: false, message: `${config.providerName} refused the sign-in: ${reason}. Sign in again.` };
  }
  const idToken = typeof body.id_token === "string" ? body.id_token : "";
  if (!nonceMatches(idToken, pending!.nonce))
    return { ok: false, message: "The sign-in answer did not match the request (nonce). Sign in again." };
  const token = body[config.bearer];
  if (typeof token !== "string" || !token)
    return { ok: false, message: `${config.providerName} sent no ${config.bearer.replace("_", " ")}.` };
  return { ok: true, token, idToken };
}

/**
 * Ends the provider's session too (RP-initiated logout): the browser goes to its end-session
 * endpoint and comes back to the page signed out (the page unloads). False when the provider
 * names no such endpoint: the sign-out is then the page's alone.
 */
export function signOutAtProvider(config: OidcConfig, idToken: string): boolean {
  if (!config.endSessionEndpoint || !idToken) return false;
  location.assign(
    endSessionUrl(config.endSessionEndpoint, {
      idToken,
      postLogoutRedirectUri: redirectUriOf(config),
      clientId: config.clientId,
    }),
  );
  return true;
}
