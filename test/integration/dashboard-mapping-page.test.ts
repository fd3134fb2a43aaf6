// The dashboard page's Forms view (issue #14 items 2-3) in real headless Chromium against the
// real services: a webhook with a field no rule maps is ingested; the view lists it for review
// with a suggestion learned from another form's correction; the operator applies it (and marks a
// note as not patient data with the field's select), previews the change on the stored event,
// saves; a new webhook to the form is projected with the field mapped, read back through the API.
// A save over someone else's is refused (409) and says so; a viewer sees it all read-only.
// Screenshots go to test-artifacts/page/.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { createToken } from "../../services/dashboard/tokens.ts";
import { launchChromium } from "./browser.ts";
import { ADMIN, type Cluster, postWebhook, ROOT, signGeneric, startCluster, waitFor } from "./harness.ts";
import { accessibilityProblems, focused, watchedPage } from "./page-checks.ts";

const TOKEN = ADMIN.authorization.slice("Bearer ".length);
const ARTIFACTS = join(ROOT, "test-artifacts", "page");
const FORM = "page-map";
let cluster: Cluster;
let browser: Browser;
let dashboard: string;

const api = async (path: string, init: RequestInit = {}) =>
  fetch(`${dashboard}${path}`, { ...init, headers: { ...ADMIN, "content-type": "application/json", ...init.headers } });

async function patientByEmail(email: string): Promise<Record<string, unknown> | undefined> {
  const res = await api("/api/v1/patients/search", { method: "POST", body: JSON.stringify({ q: email }) });
  return ((await res.json()) as { items: Record<string, unknown>[] }).items.find((p) => p.email === email);
}

async function post(email: string, contact: string, id: string): Promise<void> {
  const body = { formId: FORM, data: { "E-Mail": email, Ansprechpartner: contact, Notiz: "Rückruf bitte vormittags" } };
  const res = await postWebhook(cluster.services.ingress!.url, "generic", signGeneric(body, id));
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  cluster = await startCluster(["ingress", "projector", "dashboard"]);
  dashboard = cluster.services.dashboard!.url;
  await cluster.sql`truncate form_mappings, form_mapping_versions`;
  // The projector read an earlier run's corrections when it started (a truncate sends no
  // notification): started again, it reads none.
  await cluster.restart("projector");
  // Another form's correction: what the suggestion for this form's field learns from.
  const seeded = await api("/api/v1/forms/generic/page-map-other/mappings", {
    method: "PUT",
    body: JSON.stringify({ changes: { Ansprechpartner: "fullName" } }),
  });
  expect(seeded.status).toBe(200);
  await post("first.map@example.com", "Maria Schulz", "msg_mappage_first");
  const first = await waitFor("the first patient", () => patientByEmail("first.map@example.com"));
  // "Ansprechpartner" (contact person) is no label the rules know.
  expect(first.fullName).toBeNull();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
});

async function openForms(page: Page, token: string): Promise<void> {
  await page.goto(`${dashboard}/`);
  await page.fill("#token-input", token);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#app:not([hidden])");
  // The nav by keyboard: the Forms link, Enter; the view's heading gets focus.
  await page.focus("#nav-forms");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#view-forms:not([hidden])");
  expect(await focused(page)).toBe("forms-title");
  expect(await page.getAttribute("#nav-forms", "aria-current")).toBe("page");
  await page.waitForFunction((form) => document.querySelector("#forms-pick")?.textContent?.includes(form), FORM);
  const value = await page.$eval(
    "#forms-pick",
    (select, form) =>
      Array.from((select as HTMLSelectElement).options).find((o) => o.text.startsWith(`${form} (`))?.value ?? "",
    FORM,
  );
  await page.selectOption("#forms-pick", value);
  await page.waitForSelector("#forms-fields");
}

test("an unmapped field reviewed, a suggestion applied, previewed and saved from the page; the next webhook is mapped with it", async () => {
  const { page, problems } = await watchedPage(browser);
  await openForms(page, TOKEN);

  // The review lists the field as unmapped, with the suggestion and why.
  const reviewRow = page.locator("#forms-review tbody tr", { hasText: "Ansprechpartner" });
  await reviewRow.waitFor();
  expect(await reviewRow.locator("td").first().textContent()).toContain("unmapped");
  const apply = reviewRow.getByRole("button", { name: /^Apply fullName \(\d+%\) to “Ansprechpartner”$/ });
  expect(await reviewRow.locator(".because").first().textContent()).toContain('like "Ansprechpartner"');
  expect(await page.locator("#forms-save").isDisabled()).toBe(true);
  expect(await accessibilityProblems(page)).toEqual([]);
  await page.screenshot({ path: join(ARTIFACTS, "forms-review.png"), fullPage: true });

  // One keypress applies the suggestion to the pending changes; a select marks the note as not patient data.
  await apply.focus();
  await page.keyboard.press("Enter");
  expect(await page.locator("#forms-pending").textContent()).toContain("Ansprechpartner → fullName");
  expect(await page.getByRole("combobox", { name: "Map “Ansprechpartner” to" }).inputValue()).toBe("fullName");
  await page.getByRole("combobox", { name: "Map “Notiz” to" }).selectOption("ignore");
  expect(await page.locator("#forms-pending").textContent()).toContain("Notiz → ignore (not patient data)");

  // Preview: the stored event before and after, the changing fields marked; nothing saved yet.
  await page.focus("#forms-preview-button");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#forms-preview table");
  expect(await focused(page)).toBe("forms-preview-title");
  const changed = page.locator("#forms-preview tr.changed", { hasText: "fullName" });
  expect(await changed.locator("td").allTextContents()).toEqual(["—", "Maria Schulz", "changed"]);
  expect(((await (await api(`/api/v1/forms/generic/${FORM}/mappings`)).json()) as { version: number }).version).toBe(0);
  expect(await accessibilityProblems(page)).toEqual([]);
  await page.screenshot({ path: join(ARTIFACTS, "forms-preview.png"), fullPage: true });

  // Save: version 1, with the reprojection hint; read back through the API.
  await page.focus("#forms-save");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector("#forms-version")?.textContent?.startsWith("Version 1"));
  expect(await page.locator("#forms-status").textContent()).toContain("Saved as version 1");
  expect(await focused(page)).toBe("forms-status");
  expect(await page.locator("#forms-pending").textContent()).toContain("None.");
  expect(await page.locator("#forms-history").textContent()).toContain("Ansprechpartner → fullName");
  expect(await page.locator("#forms-reproject").textContent()).toContain(
    `./ops/hookline reproject --source generic --form ${FORM}`,
  );
  const mapping = (await (await api(`/api/v1/forms/generic/${FORM}/mappings`)).json()) as Record<string, unknown>;
  expect(mapping).toMatchObject({ version: 1, corrections: { Ansprechpartner: "fullName", Notiz: "ignore" } });
  // Reviewed: the field is no longer listed.
  expect(await page.locator("#forms-review tbody tr", { hasText: "Ansprechpartner" }).count()).toBe(0);
  expect(await accessibilityProblems(page)).toEqual([]);
  await page.screenshot({ path: join(ARTIFACTS, "forms-saved.png"), fullPage: true });

  // A new webhook to the form is projected with the field mapped.
  await post("second.map@example.com", "Jonas Weber", "msg_mappage_second");
  const second = await waitFor("the second patient", () => patientByEmail("second.map@example.com"));
  expect(second).toMatchObject({ fullName: "Jonas Weber", firstName: "Jonas", lastName: "Weber" });

  expect(await problems()).toEqual([]);

  // Someone else saves meanwhile: the page's save (still at version 1) is refused and says so.
  await page.getByRole("combobox", { name: "Map “Notiz” to" }).selectOption("");
  const other = await api(`/api/v1/forms/generic/${FORM}/mappings`, {
    method: "PUT",
    body: JSON.stringify({ changes: { "E-Mail": "email" }, version: 1 }),
  });
  expect(other.status).toBe(200);
  await page.click("#forms-save");
  await page.waitForSelector("#forms-conflict:not([hidden])");
  expect(await page.locator("#forms-conflict").textContent()).toContain("changed by someone else");
  await page.screenshot({ path: join(ARTIFACTS, "forms-conflict.png"), fullPage: true });
  await page.locator("#forms-conflict").getByRole("button", { name: "Reload" }).click();
  await page.waitForFunction(() => document.querySelector("#forms-version")?.textContent?.startsWith("Version 2"));
  // Their change is shown, the page's own is still pending.
  expect(await page.locator("#forms-pending").textContent()).toContain("Notiz → rules decide");
  // Chromium logs the refused request; nothing else went wrong.
  expect(await problems()).toEqual([
    "console: Failed to load resource: the server responded with a status of 409 (Conflict)",
  ]);
  await page.close();
}, 120_000);

test("a viewer sees the review and the mapping read-only: no Save, no Apply, the selects disabled", async () => {
  const { token } = await createToken(cluster.sql, {
    name: `page-viewer-${Date.now().toString(36)}`,
    role: "viewer",
    createdBy: "test",
  });
  const { page, problems } = await watchedPage(browser);
  await openForms(page, token);
  await page.waitForSelector("#forms-read-only");
  expect(await page.locator("#forms-save").count()).toBe(0);
  expect(await page.locator("#forms-preview-button").count()).toBe(0);
  expect(await page.getByRole("button", { name: /^Apply / }).count()).toBe(0);
  const selects = page.locator("#forms-fields select");
  expect(await selects.count()).toBeGreaterThan(0);
  expect(await selects.evaluateAll((all) => all.every((s) => (s as HTMLSelectElement).disabled))).toBe(true);
  expect(await page.locator("#forms-history").textContent()).toContain("Ansprechpartner → fullName");
  expect(await accessibilityProblems(page)).toEqual([]);
  await page.screenshot({ path: join(ARTIFACTS, "forms-viewer.png"), fullPage: true });
  expect(await problems()).toEqual([]);
  await page.close();
});
