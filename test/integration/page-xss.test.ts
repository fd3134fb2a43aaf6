// Patient data, form labels and dead-letter reasons are hostile input to the dashboard page:
// in real headless Chromium, markup in them must show as text on every view that renders it
// (patients table, drawer, dead letters, forms), never become elements, and nothing of it runs.
// With innerHTML anywhere on that path the <img> appears in the DOM (and the CSP reports its
// blocked handler), so this test fails.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "./browser.ts";
import {
  ADMIN,
  type Cluster,
  postWebhook,
  publishProjectorDeadLetter,
  signGeneric,
  startCluster,
  waitFor,
} from "./harness.ts";
import { watchedPage } from "./page-checks.ts";

const TOKEN = ADMIN.authorization.slice("Bearer ".length);
const NAME = `<img src=x onerror="window.__xss=1">`;
const LAST = "<script>window.__xss=2</script>";
const LABEL = "<img src=x onerror=window.__xss=3>";
const REASON = "<img src=x onerror=window.__xss=4>";
let cluster: Cluster;
let browser: Browser;
let nc: NatsConnection;

beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector", "dashboard"]);
  nc = await connect({ servers: cluster.nats.url });
  const res = await postWebhook(
    cluster.services.ingress!.url,
    "generic",
    signGeneric(
      {
        formId: "xss",
        data: { Vorname: NAME, Nachname: LAST, "E-Mail": "xss@example.com", Stadt: NAME, [LABEL]: NAME },
      },
      "msg_page_xss",
    ),
  );
  expect(res.status).toBe(200);
  await waitFor("patient projected", async () => (await cluster.sql`select 1 from patients`).length === 1);
  await publishProjectorDeadLetter(nc, { source: "generic", eventId: "evt_xss", body: "{}", reason: REASON });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await nc?.close();
  await cluster?.stop();
});

/** Elements the hostile strings would have made, and whether any of their code ran. */
const injected = (page: Page) =>
  page.evaluate(() => ({
    elements: document.querySelectorAll("main img, main script, dialog img, dialog script").length,
    ran: (window as unknown as { __xss?: number }).__xss ?? null,
  }));

test("names, answers, labels and dead-letter reasons render as text on every view; nothing runs", async () => {
  const { page, problems } = await watchedPage(browser);
  await page.goto(`${cluster.services.dashboard!.url}/`);
  await page.fill("#token-input", TOKEN);
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelectorAll("#rows tr").length === 1);
  const row = (await page.locator("#rows tr").first().textContent()) ?? "";
  expect(row).toContain(NAME);
  expect(row).toContain(LAST);

  // The drawer: the name as its title, the answers (hostile label and value) in the timeline.
  await page.locator("#rows button").first().click();
  await page.waitForSelector("#drawer-body .timeline li");
  expect(await page.locator("#drawer-title").textContent()).toContain(NAME);
  expect(await page.locator("#drawer-body").textContent()).toContain(LABEL);
  expect(await injected(page)).toEqual({ elements: 0, ran: null });
  await page.keyboard.press("Escape");

  await page.click("#nav-dead-letters");
  await page.waitForFunction(() => document.querySelector("#dlq-rows")?.textContent?.includes("evt_xss"));
  expect(await page.locator("#dlq-rows").textContent()).toContain(REASON);

  // The forms view: the form's labels (the hostile one among them) as the review lists them.
  await page.click("#nav-forms");
  await page.waitForFunction((label) => document.querySelector("#forms-detail")?.textContent?.includes(label), LABEL);

  expect(await injected(page)).toEqual({ elements: 0, ran: null });
  expect(await problems()).toEqual([]);
  await page.close();
});
