// Small DOM helpers. Text always goes in as text nodes (never markup), so patient data and
// API messages cannot inject anything.

type Child = Node | string | number | null | undefined | false;
/** Children: nested arrays are flattened. */
export type Children = Child | readonly Children[];
type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;

/** An element with attributes (on* are listeners; false/null/undefined are left out) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Children[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of (children as unknown[]).flat(Number.POSITIVE_INFINITY) as Child[]) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "object" ? child : String(child));
  }
  return el;
}

export const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** Says `text` to screen readers (the page's one polite live region) and shows it in `status`, if given. */
export function announce(text: string, status?: HTMLElement): void {
  if (status) status.textContent = text;
  const live = byId("live");
  live.textContent = "";
  // A new node a time: some screen readers skip a change to the same text.
  requestAnimationFrame(() => {
    live.textContent = text;
  });
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** Keeps Tab and Shift+Tab inside `dialog` while it is open (a modal dialog's contract). */
export function trapFocus(dialog: HTMLElement): void {
  dialog.addEventListener("keydown", (e) => {
    if (e.key !== "Tab") return;
    const items = Array.from(dialog.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => el.offsetParent !== null);
    if (items.length === 0) return;
    const first = items[0]!;
    const last = items[items.length - 1]!;
    if (e.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  });
}

/** A date-time for people, in the browser's locale. */
export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "");

/** Copies `text`; true if it worked. */
export async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
