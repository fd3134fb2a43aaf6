// The page's own OIDC sign-in, in real headless Chromium against a real OpenID Connect provider
// (oidc-provider, test/integration/oidc-provider.ts) and the real dashboard: "Sign in with …",
// the provider's login and consent, back to the page with a code traded for tokens (PKCE), the
// patients listed with the role the token's claim names; a forged answer (wrong state) refused;
// an account without a hookline role told so, and a refusal by the provider named; no token in the address bar, storage or cookies;
// sign-out forgets it and ends the provider's session too (RP-initiated logout). Screenshots go to test-artifacts/page/.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "./browser.ts";
import { ADMIN, type Cluster, freePort, ROOT, startCluster } from "./harness.ts";
import { startOidcProvider, type TestOidcProvider } from "./oidc-provider.ts";

const ARTIFACTS = join(ROOT, "test-artifacts", "page");
let cluster: Cluster;
let provider: TestOidcProvider;
let browser: Browser;
let dashboard: string;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  dashboard = `http://127.0.0.1:${port}`;
  provider = await startOidcProvider({ pageOrigin: dashboard, accounts: { alice: ["viewer"], nobody: [] } });
  cluster = await startCluster(["dashboard"], {
    PORT: String(port),
    OIDC_ISSUER: provider.issuer,
    OIDC_JWKS_URL: provider.jwksUrl,
    // The API's audience is the page's client: the page sends the ID token.
    OIDC_AUDIENCE: provider.clientId,
    OIDC_CLIENT_ID: provider.clientId,
    OIDC_SCOPES: "openid profile roles",
    OIDC_PROVIDER_NAME: "Test IdP",
  });
  const res = await fetch(`${dashboard}/api/v1/patients`, {
    method: "POST",
    headers: { ...ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ firstName: "Ada", lastName: "Lovelace", email: "ada.oidc@example.com", city: "London" }),
  });
  expect(res.status).toBe(201);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
  await provider?.stop();
});

/** A fresh browser (no provider session), recording CSP violations and script errors. */
async function freshPage(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused/.test(m.text())) problems.push(m.text());
  });
  return { context, page, problems };
}

/** The provider's development login and consent screens. */
async function logInAtProvider(page: Page, login: string): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(provider.issuer));
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', "any");
  await page.click('button[type="submit"]');
  // Consent (the first sign-in of this account to this client).
  await page.waitForURL((url) => url.href.startsWith(dashboard) || url.pathname.startsWith("/interaction/"));
  if (page.url().startsWith(provider.issuer)) await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.href.startsWith(dashboard));
}

/** Everything the page keeps where a script or a later visitor could read it. */
const leftBehind = (page: Page) =>
  page.evaluate(() => ({
    url: location.href,
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
    cookie: document.cookie,
  }));

test("Sign in with the provider: login, back to the page, patients listed with the token's role; nothing kept; sign-out forgets it and signs out at the provider", async () => {
  const { context, page, problems } = await freshPage();
  const pageResponse = await page.goto(`${dashboard}/`);
  // The CSP lets the page reach the provider's token endpoint, and only that.
  expect(pageResponse!.headers()["content-security-policy"]).toContain(`connect-src 'self' ${provider.issuer}/token`);
  const button = page.locator("#oidc-button");
  await expect(button.textContent()).resolves.toBe("Sign in with Test IdP");

  let tokens: { id_token?: string; access_token?: string } = {};
  page.on("response", async (r) => {
    if (r.url() === `${provider.issuer}/token` && r.request().method() === "POST") tokens = await r.json();
  });
  const authorize = page.waitForRequest((r) => r.url().startsWith(`${provider.issuer}/auth?`));
  await button.click();
  const request = new URL((await authorize).url());
  expect(request.searchParams.get("code_challenge_method")).toBe("S256");
  expect(request.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(request.searchParams.get("state")).toBeTruthy();
  expect(request.searchParams.get("nonce")).toBeTruthy();
  await logInAtProvider(page, "alice");

  await page.locator("#who").waitFor({ state: "visible" });
  expect(await page.locator("#who").textContent()).toBe("Signed in as alice (viewer)");
  // Adding a client is an admin's: a viewer is not offered the button.
  expect(await page.locator("#add-client").isHidden()).toBe(true);
  await page.locator("#rows tr").first().waitFor();
  expect(await page.locator("#rows").textContent()).toContain("Lovelace");
  // A viewer sees contact details masked in lists: the role came from the token's roles claim.
  expect(await page.locator("#rows").textContent()).not.toContain("ada.oidc@example.com");
  await page.screenshot({ path: join(ARTIFACTS, "oidc-signed-in.png") });

  const idToken = tokens.id_token ?? "";
  expect(idToken.split(".")).toHaveLength(3);
  const kept = await leftBehind(page);
  expect(kept).toEqual({ url: `${dashboard}/`, local: "{}", session: "{}", cookie: "" });
  const cookies = await context.cookies(dashboard);
  expect(JSON.stringify(cookies)).not.toContain(idToken);
  expect(JSON.stringify(kept)).not.toContain(idToken);

  // Sign-out: back to the sign-in, the patients gone, and no request carries the token again.
  const sent: string[] = [];
  page.on("request", (r) => {
    const auth = r.headers().authorization;
    if (auth) sent.push(auth);
  });
  // RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the browser goes to the
  // provider's end_session_endpoint (from its discovery document) with the ID token as
  // id_token_hint and the page as post_logout_redirect_uri, and the provider ends its session.
  const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as {
    end_session_endpoint: string;
  };
  const endSession = page.waitForRequest((r) => r.url().startsWith(`${discovery.end_session_endpoint}?`));
  await page.click("#sign-out");
  const logout = new URL((await endSession).url());
  expect(logout.searchParams.get("id_token_hint")).toBe(idToken);
  expect(logout.searchParams.get("post_logout_redirect_uri")).toBe(`${dashboard}/`);
  expect(logout.searchParams.get("client_id")).toBe(provider.clientId);
  // The provider's own confirmation, then back to the page.
  await page.click('button[name="logout"]');
  await page.waitForURL((url) => url.href.startsWith(dashboard));
  await page.locator("#signin").waitFor({ state: "visible" });
  expect(await leftBehind(page)).toEqual({ url: `${dashboard}/`, local: "{}", session: "{}", cookie: "" });
  expect(await page.locator("#app").isHidden()).toBe(true);
  expect(await page.locator("#rows tr").count()).toBe(0);
  expect(await page.locator("#who").isHidden()).toBe(true);
  await page.evaluate(() => {
    location.hash = "#stats";
  });
  await page.evaluate(() => {
    location.hash = "#patients";
  });
  expect(await page.locator("#app").isHidden()).toBe(true);
  expect(sent.filter((a) => a.includes(idToken))).toEqual([]);
  // The provider's session is over: signing in again asks for the login, not straight back in.
  await page.click("#oidc-button");
  await page.waitForURL((url) => url.href.startsWith(provider.issuer));
  await page.locator('input[name="login"]').waitFor();
  expect(problems).toEqual([]);
  await context.close();
});

test("a wrong state is refused: no token exchanged, the pending sign-in and the answer cleared", async () => {
  const { context, page } = await freshPage();
  await page.goto(`${dashboard}/`);
  let exchanged = false;
  page.on("request", (r) => {
    if (r.url() === `${provider.issuer}/token`) exchanged = true;
  });
  // A sign-in started (the state saved), then an answer that is not the one to it.
  await page.click("#oidc-button");
  await page.waitForURL((url) => url.href.startsWith(provider.issuer));
  await page.goto(`${dashboard}/?code=forged-code&state=not-the-state&iss=${encodeURIComponent(provider.issuer)}`);
  await page.locator("#signin-error:not(:empty)").waitFor();
  expect(await page.locator("#signin-error").textContent()).toContain("(state)");
  expect(await page.locator("#app").isHidden()).toBe(true);
  expect(exchanged).toBe(false);
  expect(await leftBehind(page)).toEqual({ url: `${dashboard}/`, local: "{}", session: "{}", cookie: "" });
  await context.close();
});

test("an account whose token names no hookline role is told so, and not let in", async () => {
  const { context, page } = await freshPage();
  await page.goto(`${dashboard}/`);
  await page.click("#oidc-button");
  await logInAtProvider(page, "nobody");
  await page.locator("#signin-error:not(:empty)").waitFor();
  const message = await page.locator("#signin-error").textContent();
  expect(message).toContain("Signed in at Test IdP, but your account has no hookline role");
  expect(message).toContain("roles claim");
  expect(await page.locator("#app").isHidden()).toBe(true);
  expect(await leftBehind(page)).toEqual({ url: `${dashboard}/`, local: "{}", session: "{}", cookie: "" });
  await page.screenshot({ path: join(ARTIFACTS, "oidc-no-role.png") });
  await context.close();
});

test("the provider's refusal (the user cancels at its login) is named in the page", async () => {
  const { context, page } = await freshPage();
  await page.goto(`${dashboard}/`);
  await page.click("#oidc-button");
  await page.waitForURL((url) => url.href.startsWith(provider.issuer));
  await page.click("text=[ Cancel ]");
  await page.waitForURL((url) => url.href.startsWith(dashboard));
  await page.locator("#signin-error:not(:empty)").waitFor();
  expect(await page.locator("#signin-error").textContent()).toBe(
    "Test IdP refused the sign-in: access_denied (End-User aborted interaction).",
  );
  expect(await page.locator("#app").isHidden()).toBe(true);
  expect(await leftBehind(page)).toEqual({ url: `${dashboard}/`, local: "{}", session: "{}", cookie: "" });
  await context.close();
});

test("without OIDC_CLIENT_ID the page offers the token only, and its CSP no other origin", async () => {
  const plain = await cluster.restart("dashboard", { OIDC_CLIENT_ID: "" });
  expect(await (await fetch(`${plain.url}/api/v1/auth/config`)).json()).toEqual({ oidc: null });
  const res = await fetch(`${plain.url}/`);
  expect(res.headers.get("content-security-policy")).not.toContain("connect-src");
  const { context, page } = await freshPage();
  await page.goto(`${plain.url}/`);
  await page.locator("#token-input").waitFor();
  expect(await page.locator("#oidc-signin").isHidden()).toBe(true);
  await context.close();
});
