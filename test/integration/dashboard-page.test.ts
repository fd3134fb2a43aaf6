// The dashboard page in real headless Chromium: asks for the API token, lists patients,
// searches by email, and says so when the token is wrong.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chromium, type Browser } from "playwright-core";
import { postWebhook, signGeneric, startCluster, waitFor, type Cluster } from "./harness.ts";

let cluster: Cluster;
let browser: Browser;

beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector", "dashboard"]);
  const ingress = cluster.services.ingress!.url;
  for (const [i, name] of ["Zoë Müller-Lüdenscheidt", "Ada Lovelace", "Grace Hopper"].entries()) {
    const [first, last] = name.split(" ");
    const res = await postWebhook(ingress, "generic", signGeneric({ data: { Vorname: first, Nachname: last, "E-Mail": `page${i}@example.com`, Stadt: "Berlin" } }, `msg_page_${i}`));
    expect(res.status).toBe(200);
  }
  await waitFor("patients projected", async () => (await cluster.sql`select count(*)::int as n from patients`)[0]!.n === 3);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
});

test("lists patients after the token prompt, and searches by email", async () => {
  const page = await browser.newPage();
  page.on("dialog", (dialog) => dialog.accept("dev-admin-token"));
  await page.goto(cluster.services.dashboard!.url + "/");
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
  await page.close();
});

test("a wrong token shows the API's message instead of rows", async () => {
  const page = await browser.newPage();
  page.on("dialog", (dialog) => dialog.accept("not-a-token"));
  await page.goto(cluster.services.dashboard!.url + "/");
  await page.waitForFunction(() => document.querySelector("#status")?.textContent?.includes("Bearer"));
  expect(await page.locator("#rows tr").count()).toBe(0);
  await page.close();
});
