// A real OpenID Connect provider for the page's sign-in tests: panva's oidc-provider (the
// certified implementation), in this process on a free port, with one public client for the page
// (PKCE required, CORS for the page's origin on the token endpoint), its development login and
// consent screens, and accounts whose `roles` claim the test chooses.
import type { Server } from "node:http";
import Provider from "oidc-provider";
import { freePort } from "./harness.ts";

export interface TestOidcProvider {
  issuer: string;
  jwksUrl: string;
  clientId: string;
  stop(): Promise<void>;
}

export async function startOidcProvider(options: {
  /** Where the page is: its origin may call the token endpoint, and `${origin}/` is the redirect URI. */
  pageOrigin: string;
  /** login name → the values of its `roles` claim. */
  accounts: Record<string, string[]>;
  clientId?: string;
}): Promise<TestOidcProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = options.clientId ?? "hookline-page";
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        token_endpoint_auth_method: "none",
        redirect_uris: [`${options.pageOrigin}/`],
        // Where RP-initiated logout may send the browser back to (the page's sign-out).
        post_logout_redirect_uris: [`${options.pageOrigin}/`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    clientBasedCORS: (_ctx, origin) => origin === options.pageOrigin,
    // The roles claim in the ID token itself, which the page sends as its bearer.
    conformIdTokenClaims: false,
    claims: { openid: ["sub"], profile: ["preferred_username"], roles: ["roles"] },
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, preferred_username: sub, roles: options.accounts[sub] ?? [] }),
    }),
    cookies: { keys: ["hookline-test-oidc-cookies"] },
    ttl: { AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600 },
  });
  // It warns that its development interactions, keys and in-memory store are in use: what a test wants.
  const server: Server = await new Promise((resolve) => {
    const s = provider.listen(port, "127.0.0.1", () => resolve(s));
  });
  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    clientId,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
