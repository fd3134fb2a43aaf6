// The pure parts of the page's OpenID Connect sign-in (oidc.ts): random values, the PKCE
// challenge (RFC 7636, S256), the authorization request's URL, and the checks on the answer the
// provider sends the browser back with. No DOM, no storage: unit-tested on their own.

/** What the page keeps across the redirect to the provider (sessionStorage, removed on return). */
export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
}

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

/** `bytes` random bytes, base64url: 32 give 43 characters, RFC 7636's shortest verifier. */
export const randomToken = (bytes = 32): string => base64url(crypto.getRandomValues(new Uint8Array(bytes)));

/** The S256 code challenge of a verifier: base64url(SHA-256(verifier)). */
export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** The URL that sends the browser to the provider's sign-in. */
export function authorizationUrl(
  endpoint: string,
  request: { clientId: string; scopes: string; redirectUri: string; state: string; nonce: string; challenge: string },
): string {
  const url = new URL(endpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", request.clientId);
  url.searchParams.set("redirect_uri", request.redirectUri);
  url.searchParams.set("scope", request.scopes);
  url.searchParams.set("state", request.state);
  url.searchParams.set("nonce", request.nonce);
  url.searchParams.set("code_challenge", request.challenge);
  url.searchParams.set("code_challenge_method", "S256");
  return url.href;
}

/**
 * The URL that ends the provider's session (OpenID Connect RP-Initiated Logout 1.0, §2): the ID
 * token as id_token_hint (which session, and that this client asks), the page as
 * post_logout_redirect_uri (registered with the provider) and client_id (the spec asks for it
 * alongside a redirect URI). A GET: the page's CSP (form-action 'self') allows no form posted to
 * another origin, and the spec lets the provider take either.
 */
export function endSessionUrl(
  endpoint: string,
  request: { idToken: string; postLogoutRedirectUri: string; clientId: string },
): string {
  const url = new URL(endpoint);
  url.searchParams.set("id_token_hint", request.idToken);
  url.searchParams.set("post_logout_redirect_uri", request.postLogoutRedirectUri);
  url.searchParams.set("client_id", request.clientId);
  return url.href;
}

/** Whether the page's address is the provider's answer (a code or an error). */
export const isCallback = (params: URLSearchParams): boolean =>
  params.has("state") && (params.has("code") || params.has("error"));

/** Constant-time for equal lengths: how far a guessed state matched says nothing. */
function sameString(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export type CallbackResult = { ok: true; code: string } | { ok: false; message: string };

/**
 * The code from the provider's answer, or why it is refused: no sign-in was started in this tab,
 * the state is not the one sent (a forged or replayed answer: login CSRF), the answer names
 * another issuer (RFC 9207, when sent), or the provider refused.
 */
export function checkCallback(
  params: URLSearchParams,
  pending: PendingSignIn | null,
  issuer: string,
  providerName: string,
): CallbackResult {
  if (!pending) return { ok: false, message: "No sign-in was started in this tab. Sign in again." };
  if (!sameString(params.get("state") ?? "", pending.state))
    return { ok: false, message: "The sign-in answer did not match the request (state). Sign in again." };
  const iss = params.get("iss");
  if (iss !== null && iss !== issuer)
    return { ok: false, message: "The sign-in answer came from another provider (issuer). Sign in again." };
  const error = params.get("error");
  if (error) {
    const description = params.get("error_description");
    return {
      ok: false,
      message: `${providerName} refused the sign-in: ${error}${description ? ` (${description})` : ""}.`,
    };
  }
  const code = params.get("code");
  return code ? { ok: true, code } : { ok: false, message: "The sign-in answer held no code. Sign in again." };
}

/** A JWT's claims, read without checking the signature (the API checks it); null when not a JWT. */
export function jwtClaims(jwt: string): Record<string, unknown> | null {
  const part = jwt.split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === "object" ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Whether the ID token answers this sign-in: its nonce is the one sent (a replayed token is not). */
export const nonceMatches = (idToken: string, nonce: string): boolean => {
  const claimed = jwtClaims(idToken)?.nonce;
  return typeof claimed === "string" && sameString(claimed, nonce);
};
