// What the page tests check in every view, shared by dashboard-page.test.ts and
// dashboard-mapping-page.test.ts: a page that records console errors, CSP violations and
// dialogs; the in-page accessibility check; where focus is.
import type { Browser, Page } from "playwright-core";

/**
 * A page that records what would show a problem: console errors (Chromium logs each CSP
 * violation there), `securitypolicyviolation` events (recorded by a script the browser
 * injects outside the page's CSP) and dialogs (the token is asked for in the page, not by prompt()).
 */
export async function watchedPage(
  browser: Browser,
  viewport = { width: 1366, height: 900 },
): Promise<{ page: Page; problems: () => Promise<string[]> }> {
  const page = await browser.newPage({ viewport });
  const seen: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !/\b40[13]\b/.test(m.text())) seen.push(`console: ${m.text()}`);
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

/**
 * What a screen reader would miss, checked in the page as shown: a visible form control without
 * a label (label[for], a wrapping label, aria-label or aria-labelledby naming text), a button or
 * link without a name, a dialog without a title, duplicate ids, a table without headers.
 */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const visible = (el: Element) => (el as HTMLElement).offsetParent !== null || el.closest("dialog[open]") !== null;
    const text = (ids: string | null) =>
      (ids ?? "")
        .split(/\s+/)
        .map((id) => document.getElementById(id)?.textContent?.trim() ?? "")
        .join(" ")
        .trim();
    const nameOf = (el: Element): string =>
      (
        el.getAttribute("aria-label") ||
        text(el.getAttribute("aria-labelledby")) ||
        Array.from((el as HTMLInputElement).labels ?? [])
          .map((l) => l.textContent)
          .join(" ") ||
        (el.tagName === "BUTTON" || el.tagName === "A" ? el.textContent : "") ||
        ""
      ).trim();
    for (const el of Array.from(document.querySelectorAll("input, select, textarea, button, a[href]"))) {
      if (!visible(el) || (el as HTMLInputElement).type === "hidden") continue;
      if (!nameOf(el)) problems.push(`no accessible name: ${el.outerHTML.slice(0, 120)}`);
    }
    for (const d of Array.from(document.querySelectorAll("dialog[open]")))
      if (!text(d.getAttribute("aria-labelledby"))) problems.push(`dialog without a title: #${d.id}`);
    const ids = Array.from(document.querySelectorAll("[id]")).map((e) => e.id);
    for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) problems.push(`duplicate id: ${id}`);
    for (const t of Array.from(document.querySelectorAll("table")))
      if (visible(t) && t.querySelectorAll("th").length === 0) problems.push(`table without headers: ${t.id}`);
    for (const el of Array.from(document.querySelectorAll("[aria-describedby]")))
      for (const id of el.getAttribute("aria-describedby")!.split(/\s+/))
        if (!document.getElementById(id)) problems.push(`aria-describedby names no element: ${id}`);
    return problems;
  });
}

/** Where focus is: the element's id, or its tag and text. */
export const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    return el?.id || `${el?.tagName.toLowerCase()}:${el?.textContent?.trim().slice(0, 30)}`;
  });
