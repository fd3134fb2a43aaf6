// The dashboard page in real headless Chromium against the real services, under the
// Content-Security-Policy the dashboard sends: sign in with a token kept in memory only, search
// as you type, open a patient's drawer, add a new client through the modal and post a signed
// webhook to the URL it showed, find that patient, stats with charts, sources, replay a dead
// letter; keyboard use and labels checked on every view; no secret in the bundle. Screenshots
// go to test-artifacts/page/ (ignored by git).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { Browser, Page } from "playwright-core";
import { createRedis } from "../../shared/cache.ts";
import { DEV_CREDENTIALS } from "../../shared/dev-credentials.ts";
import { createLogger } from "../../shared/logger.ts";
import { STATS_KEYS } from "../../shared/stats.ts";
import { launchChromium } from "./browser.ts";
import {
  ADMIN,
  type Cluster,
  postWebhook,
  publishProjectorDeadLetter,
  ROOT,
  signGeneric,
  startCluster,
  waitFor,
} from "./harness.ts";
import { accessibilityProblems, focused, watchedPage } from "./page-checks.ts";

const TOKEN = ADMIN.authorization.slice("Bearer ".length);
const ARTIFACTS = join(ROOT, "test-artifacts", "page");
let cluster: Cluster;
let browser: Browser;
let nc: NatsConnection;
let dashboard: string;

const patientCount = async () => (await cluster.sql`select count(*)::int as n from patients`)[0]!.n as number;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  cluster = await startCluster(["ingress", "projector", "dashboard"]);
  const ingress = cluster.services.ingress!.url;
  // The webhook URLs the clients API hands out point at this test's ingress.
  dashboard = (await cluster.restart("dashboard", { PUBLIC_WEBHOOK_BASE_URL: ingress })).url;
  nc = await connect({ servers: cluster.nats.url });
  // Stats counters of an earlier run would outlive freshDatabase: start from none.
  const redis = createRedis(
    process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1",
    "hookline-test",
    createLogger("test", "warn"),
  );
  await waitFor("redis", async () => (await redis.ping().catch(() => "")) === "PONG");
  await redis.del(STATS_KEYS.ready);
  redis.disconnect();
  for (const [i, name] of ["Zoë Müller-Lüdenscheidt", "Ada Lovelace", "Grace Hopper"].entries()) {
    const [first, last] = name.split(" ");
    const res = await postWebhook(
      ingress,
      "generic",
      signGeneric(
        {
          formId: "intake",
          data: { Vorname: first, Nachname: last, "E-Mail": `page${i}@example.com`, Stadt: "Berlin" },
        },
        `msg_page_${i}`,
      ),
    );
    expect(res.status).toBe(200);
  }
  await waitFor("patients projected", async () => (await patientCount()) === 3);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await nc?.close();
  await cluster?.stop();
});

async function signIn(page: Page, token = TOKEN): Promise<void> {
  await page.goto(`${dashboard}/`);
  await page.fill("#token-input", token);
  await page.keyboard.press("Enter");
}

const rowNames = (page: Page) => page.locator("#rows tr td:first-child").allTextContents();

test("the page and its assets come with a CSP that forbids inline script, framing and caching; no secret is in the bundle", async () => {
  const { page, problems } = await watchedPage(browser);
  const res = await page.goto(`${dashboard}/`);
  const h = res!.headers();
  const csp = h["content-security-policy"] ?? "";
  for (const directive of [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ])
    expect(csp).toContain(directive);
  expect(csp).not.toContain("unsafe-inline");
  expect(h["x-frame-options"]).toBe("DENY");
  expect(h["cache-control"]).toBe("no-store");
  await page.waitForSelector("#token-input");
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("token-input");
  expect(await problems()).toEqual([]);
  await page.close();

  // The bundle is Bun's build of services/dashboard/web: uPlot inside, none of the dev secrets.
  const js = await (await fetch(`${dashboard}/app.js`)).text();
  const css = await (await fetch(`${dashboard}/app.css`)).text();
  expect(js).toContain("uplot");
  expect(css).toContain(".uplot");
  for (const secret of Object.values(DEV_CREDENTIALS) as string[]) expect(js + css).not.toContain(secret);
});

test("sign in, search as you type (in POST bodies only), open a patient's drawer; the token stays in memory", async () => {
  const { page, problems } = await watchedPage(browser);
  const requests: string[] = [];
  page.on("request", (r) => requests.push(`${r.method()} ${r.url()}`));
  await signIn(page);
  await page.waitForFunction(() => document.querySelectorAll("#rows tr").length === 3);
  expect((await rowNames(page)).sort()).toEqual(["Ada Lovelace", "Grace Hopper", "Zoë Müller-Lüdenscheidt"]);
  expect(await page.locator("#status").textContent()).toBe("3 patients shown");
  expect(await focused(page)).toBe("q");

  // Typing searches without a submit: one request after the typing pauses.
  await page.keyboard.type("PAGE1@example.com", { delay: 10 });
  await page.waitForFunction(() => document.querySelectorAll("#rows tr").length === 1);
  expect(await rowNames(page)).toEqual(["Ada Lovelace"]);
  const api = requests.filter((r) => r.includes("/api/"));
  expect(api.filter((r) => r.includes("/patients/search")).every((r) => r.startsWith("POST "))).toBe(true);
  expect(requests.join("\n").toLowerCase()).not.toContain("page1");
  await page.screenshot({ path: join(ARTIFACTS, "patients-search.png") });

  // The drawer, by keyboard: Tab to the name, Enter; Escape closes it and focus returns.
  await page.locator("#rows button").first().focus();
  await page.keyboard.press("Enter");
  await page.waitForSelector("#drawer[open]");
  await page.waitForFunction(() => document.querySelector("#drawer-title")?.textContent === "Ada Lovelace");
  await page.waitForSelector("#drawer-body .timeline li");
  expect(await page.locator("#drawer-body").textContent()).toContain("page1@example.com");
  expect(await page.locator("#drawer-body .timeline").textContent()).toContain("generic");
  expect(await page.locator("#drawer-body .timeline dt").allTextContents()).toContain("Nachname");
  // Where each value came from (the detail's origins): the answer's label, source and form.
  expect(await page.locator("#drawer-body .origin").first().textContent()).toMatch(
    /^from “.+” in generic form intake, /,
  );
  expect(await accessibilityProblems(page)).toEqual([]);
  await page.screenshot({ path: join(ARTIFACTS, "patient-drawer.png") });
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => !document.querySelector<HTMLDialogElement>("#drawer")!.open);
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Ada Lovelace");

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
  await page.close();
});

test("a wrong token shows why and asks again", async () => {
  const { page, problems } = await watchedPage(browser);
  await signIn(page, "not-a-token");
  await page.waitForSelector("#token-input", { state: "visible" });
  await page.waitForFunction(() => document.querySelector("#signin-error")?.textContent?.includes("not accepted"));
  expect(await page.locator("#rows tr").count()).toBe(0);
  expect(await problems()).toEqual([]);
  await page.close();
});

test("Add New Client: inline validation, focus kept in the modal, the URL and secret it shows take a signed webhook, and the patient is found", async () => {
  const { page, problems } = await watchedPage(browser);
  await signIn(page);
  await page.waitForFunction(() => document.querySelectorAll("#rows tr").length === 3);
  await page.click("#add-client");
  await page.waitForSelector("#client-dialog[open]");
  expect(await focused(page)).toBe("client-name");

  // Sent empty: each field says what is wrong, next to it, and focus goes to the first.
  await page.click("#client-submit");
  expect(await page.locator("#client-name-error").textContent()).toBe("Enter the client's name.");
  expect(await page.locator("#client-sourceType-error").textContent()).toBe("Pick the form tool.");
  expect(await page.getAttribute("#client-name", "aria-invalid")).toBe("true");
  expect(await focused(page)).toBe("client-name");
  await page.fill("#client-sourceName", "Not Valid!");
  expect(await page.locator("#client-sourceName-error").textContent()).toContain("lower-case letters");
  await page.fill("#client-sourceName", "");
  expect(await page.locator("#client-sourceName-error").textContent()).toBe("");

  // Tab and Shift+Tab cycle inside the modal.
  const inside = async () =>
    page.evaluate(() => document.querySelector("#client-dialog")!.contains(document.activeElement));
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    expect(await inside()).toBe(true);
  }
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Shift+Tab");
    expect(await inside()).toBe(true);
  }
  expect(await accessibilityProblems(page)).toEqual([]);

  // Clients outlive freshDatabase (it empties patient data only): a name of this run's own.
  const clientName = `Praxis Sonnenschein ${Date.now().toString(36)}`;
  await page.fill("#client-name", clientName);
  await page.selectOption("#client-sourceType", "generic");
  await page.screenshot({ path: join(ARTIFACTS, "add-client-form.png") });
  await page.click("#client-submit");
  await page.waitForSelector("#client-result:not([hidden]) #client-webhook-url");
  const url = await page.inputValue("#client-webhook-url");
  const secret = await page.inputValue("#client-secret");
  expect(url.startsWith(`${cluster.services.ingress!.url}/v1/webhooks/`)).toBe(true);
  expect(secret).toMatch(/^whsec_/);
  expect(await page.locator("#client-steps li").count()).toBeGreaterThan(0);
  expect(await accessibilityProblems(page)).toEqual([]);
  await page.screenshot({ path: join(ARTIFACTS, "add-client-result.png") });

  // The form tool's side: a Standard Webhooks request signed with the secret, to the URL shown
  // (the new source reaches the ingress within seconds: retried while it answers 404).
  const body = JSON.stringify({
    formId: "new-intake",
    data: { Vorname: "Sonja", Nachname: "Sonnenschein", "E-Mail": "sonja@example.com" },
  });
  await waitFor("the webhook to the new source accepted", async () => {
    const res = await fetch(url, {
      method: "POST",
      ...signGeneric(body, `msg_new_client_${Date.now()}`, undefined, secret),
    });
    return res.status === 200;
  });
  await waitFor("the new client's patient projected", async () => (await patientCount()) === 4);

  // Closing the modal takes the secret with it; the patient is found by its name.
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => !document.querySelector<HTMLDialogElement>("#client-dialog")!.open);
  // The dialog's close event, which clears the result, is queued after `open` goes false.
  await page.waitForFunction(() => document.querySelector("#client-result")!.textContent === "", undefined, {
    timeout: 5000,
  });
  expect(await page.locator("#client-result").textContent()).toBe("");
  expect(await focused(page)).toBe("add-client");
  await page.fill("#q", "sonja@example.com");
  await page.waitForFunction(() => document.querySelectorAll("#rows tr").length === 1);
  expect(await rowNames(page)).toEqual(["Sonja Sonnenschein"]);
  // The client filter (its options refreshed after the client was added) shows that client's patients only.
  await page.fill("#q", "");
  await page.waitForFunction(() => document.querySelectorAll("#rows tr").length > 1);
  await page.selectOption("#filter-client", { label: clientName });
  await page.waitForFunction(() => document.querySelectorAll("#rows tr").length === 1);
  expect(await rowNames(page)).toEqual(["Sonja Sonnenschein"]);
  // And the form filter: the first three patients came through form "intake".
  await page.selectOption("#filter-client", "");
  await page.selectOption("#filter-form", "intake");
  await page.waitForFunction(() => document.querySelectorAll("#rows tr").length === 3);
  expect((await rowNames(page)).sort()).toEqual(["Ada Lovelace", "Grace Hopper", "Zoë Müller-Lüdenscheidt"]);
  expect(await problems()).toEqual([]);
  await page.close();
});

test("stats with charts, sources and their health, keyboard navigation between views", async () => {
  const { page, problems } = await watchedPage(browser);
  await signIn(page);
  await page.waitForFunction(() => document.querySelectorAll("#rows tr").length > 0);
  // The nav by keyboard: focus the Stats link, Enter; the view's heading gets focus.
  await page.focus("#nav-stats");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#view-stats:not([hidden])");
  expect(await focused(page)).toBe("stats-title");
  expect(await page.getAttribute("#nav-stats", "aria-current")).toBe("page");
  await page.waitForSelector("#chart-per-day canvas");
  await page.waitForSelector("#chart-per-source canvas");
  await page.waitForFunction(() => Number(document.querySelector("#stat-events")?.textContent) >= 3);
  expect(await page.locator("#stat-patients").textContent()).toBe(String(await patientCount()));
  expect(await page.locator("#stats-sources").textContent()).toContain("generic");
  expect(await page.locator("#stats-forms").textContent()).toContain("intake");
  expect(await accessibilityProblems(page)).toEqual([]);
  await page.screenshot({ path: join(ARTIFACTS, "stats.png"), fullPage: true });

  await page.click("#nav-sources");
  await page.waitForFunction(() => document.querySelectorAll("#sources-rows tr").length > 0);
  expect(await page.locator("#sources-rows").textContent()).toContain("generic");
  expect(await accessibilityProblems(page)).toEqual([]);
  await page.screenshot({ path: join(ARTIFACTS, "sources.png") });
  expect(await problems()).toEqual([]);
  await page.close();
});

test("a dead letter is listed with its reason and replayed from the page into a stored patient", async () => {
  const body = JSON.stringify({ data: { Vorname: "Rita", Nachname: "Replay", "E-Mail": "rita.replay@example.com" } });
  await publishProjectorDeadLetter(nc, {
    source: "generic",
    eventId: "evt_page_replay",
    body,
    reason: "database error 23514",
  });

  const { page, problems } = await watchedPage(browser);
  await signIn(page);
  await page.waitForFunction(() => document.querySelectorAll("#rows tr").length > 0);
  await page.click("#nav-dead-letters");
  await page.waitForFunction(() => document.querySelector("#dlq-rows")?.textContent?.includes("evt_page_replay"));
  const row = page.locator("#dlq-rows tr", { hasText: "evt_page_replay" });
  expect(await row.textContent()).toContain("database error 23514");
  expect(await accessibilityProblems(page)).toEqual([]);
  await page.screenshot({ path: join(ARTIFACTS, "dead-letters.png") });
  const before = await patientCount();
  await row.getByRole("button", { name: /Replay dead letter/ }).focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => !document.querySelector("#dlq-rows")?.textContent?.includes("evt_page_replay"));
  expect(await page.locator("#dlq-status").textContent()).toMatch(/replayed/);
  await waitFor("the replayed webhook projected", async () => (await patientCount()) === before + 1);
  expect(await problems()).toEqual([]);
  await page.close();
});

test("readable on a tablet: nothing wider than the screen but the tables' own scroll", async () => {
  const { page, problems } = await watchedPage(browser, { width: 768, height: 1024 });
  await signIn(page);
  await page.waitForFunction(() => document.querySelectorAll("#rows tr").length > 0);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  expect(await accessibilityProblems(page)).toEqual([]);
  await page.screenshot({ path: join(ARTIFACTS, "tablet-patients.png") });
  expect(await problems()).toEqual([]);
  await page.close();
});
