// The dashboard page in real headless Chromium, under the Content-Security-Policy the
// dashboard sends: the API token is typed into the page's form and kept in memory only
// (never localStorage, sessionStorage or a cookie), patients are listed and searched, a wrong
// token shows the API's message, and the page runs without a single CSP violation.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { ADMIN, type Cluster, postWebhook, signGeneric, startCluster, waitFor } from "./harness.ts";

const TOKEN = ADMIN.authorization.slice("Bearer ".length);
let cluster: Cluster;
let browser: Browser;

beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector", "dashboard"]);
  const ingress = cluster.services.ingress!.url;
  for (const [i, name] of ["Zoë Müller-Lüdenscheidt", "Ada Lovelace", "Grace Hopper"].entries()) {
    const [first, last] = name.split(" ");
    const res = await postWebhook(
      ingress,
      "generic",
      signGeneric(
        { data: { Vorname: first, Nachname: last, "E-Mail": `page${i}@example.com`, Stadt: "Berlin" } },
        `msg_page_${i}`,
      ),
    );
    expect(res.status).toBe(200);
  }
  await waitFor(
    "patients projected",
    async () => (await cluster.sql`select count(*)::int as n from patients`)[0]!.n === 3,
  );
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
});

/**
 * A page that records what would show a problem: console errors (Chromium logs each CSP
 * violation there), `securitypolicyviolation` events (recorded by a script the browser
 * injects outside the page's CSP) and dialogs (the token is asked for in the page, not by prompt()).
 */
async function watchedPage(): Promise<{ page: Page; problems: () => Promise<string[]> }> {
  const page = await browser.newPage();
  const seen: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().includes("401")) seen.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => seen.push(`page error: ${e.message}`));
  page.on("dialog", (d) => {
    seen.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.addInitScript(() => {
    const violations: string[] = [];
    Object.assign(window, { __violations: violations });
    document.addEventListener("securitypolicyviolation", (e) =>
      violations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  return {
    page,
    problems: async () => [
      ...seen,
      ...(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations)).map(
        (v) => `csp: ${v}`,
      ),
    ],
  };
}

async function enterToken(page: Page, token: string): Promise<void> {
  await page.fill("#token-input", token);
  await page.click("#token-form button");
}

test("the page and its assets come with a CSP that forbids inline script, framing and caching", async () => {
  const { page, problems } = await watchedPage();
  const res = await page.goto(`${cluster.services.dashboard!.url}/`);
  const headers = res!.headers();
  const csp = headers["content-security-policy"] ?? "";
  for (const directive of [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ]) {
    expect(csp).toContain(directive);
  }
  expect(csp).not.toContain("unsafe-inline");
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("no-referrer");
  expect(headers["cache-control"]).toBe("no-store");
  await page.waitForSelector("#token-input");
  expect(await problems()).toEqual([]);
  await page.close();
});

test("a token typed into the form lists and searches patients, and is kept in memory only", async () => {
  const { page, problems } = await watchedPage();
  await page.goto(`${cluster.services.dashboard!.url}/`);
  const requests: string[] = [];
  page.on("request", (r) => requests.push(`${r.method()} ${r.url()}`));
  await enterToken(page, TOKEN);
  await page.waitForFunction(() => document.querySelectorAll("#rows tr").length === 3);
  const names = await page.locator("#rows tr td:first-child").allTextContents();
  expect(names.sort()).toEqual(["Ada Lovelace", "Grace Hopper", "Zoë Müller-Lüdenscheidt"]);
  expect(await page.locator("#status").textContent()).toBe("3 shown");

  await page.fill("#q", "PAGE1@example.com");
  await page.click("#search button");
  await page.waitForFunction(() => document.querySelectorAll("#rows tr").length === 1);
  const cells = await page.locator("#rows tr td").allTextContents();
  expect(cells.slice(0, 2)).toEqual(["Ada Lovelace", "page1@example.com"]);
  expect(cells[4]).toBe("Berlin");
  // The search went in a POST body: no URL (what proxies' access logs record) holds the term.
  expect(requests.filter((r) => r.includes("/api/"))).toEqual([
    `POST ${cluster.services.dashboard!.url}/api/v1/patients/search`,
    `POST ${cluster.services.dashboard!.url}/api/v1/patients/search`,
  ]);
  expect(requests.join("\n").toLowerCase()).not.toContain("page1");

  const stored = await page.evaluate(() => ({
    local: localStorage.length,
    session: sessionStorage.length,
    cookie: document.cookie,
  }));
  expect(stored).toEqual({ local: 0, session: 0, cookie: "" });
  expect(await page.context().cookies()).toEqual([]);
  expect(await page.content()).not.toContain(TOKEN);
  expect(await problems()).toEqual([]);

  // A reload forgets the token: the form asks again and no rows load.
  await page.reload();
  await page.waitForSelector("#token-input", { state: "visible" });
  expect(await page.locator("#rows tr").count()).toBe(0);
  expect(await problems()).toEqual([]);
  await page.close();
});

test("a wrong token shows the API's message instead of rows and asks again", async () => {
  const { page, problems } = await watchedPage();
  await page.goto(`${cluster.services.dashboard!.url}/`);
  await enterToken(page, "not-a-token");
  await page.waitForFunction(() => document.querySelector("#status")?.textContent?.includes("Bearer"));
  expect(await page.locator("#rows tr").count()).toBe(0);
  await page.waitForSelector("#token-input", { state: "visible" });
  expect(await problems()).toEqual([]);
  await page.close();
});
