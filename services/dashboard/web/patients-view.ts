// Patients: search as you type (POST …/search, so terms stay out of URLs), filters, paging by
// the API's cursors, and a drawer with one patient and its timeline.
import { type ApiError, api } from "./api.ts";
import { announce, byId, h, trapFocus, when } from "./dom.ts";

interface Patient {
  id: string;
  fullName?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
  phone?: string | null;
  dateOfBirth?: string | null;
  city?: string | null;
  source?: string;
  submittedAt?: string;
  [key: string]: unknown;
}
type Origin =
  | { kind: "submission"; source: string; formId: string | null; submittedAt: string; label?: string }
  | { kind: "manual"; editedAt: string; by?: string };
interface Page {
  items: Patient[];
  nextCursor: string | null;
}
interface TimelineEntry {
  eventId: string;
  source: string;
  formId: string | null;
  submittedAt: string;
  status?: string;
  /** label → value, or a list of {label, value} (as the API stores them). */
  answers?: Record<string, unknown> | { label: string; value: unknown }[];
}

/** A submission's answers as (label, text) pairs, whichever shape they come in. */
function answerList(answers: TimelineEntry["answers"]): [string, string][] {
  const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  if (!answers) return [];
  if (Array.isArray(answers)) return answers.map((a) => [String(a.label), text(a.value)]);
  return Object.entries(answers).map(([k, v]) => [k, text(v)]);
}

const SEARCH_DELAY_MS = 200;
const PAGE_SIZE = 25;

export function patientsView(): { show(): void; refreshFilters(): Promise<void> } {
  const q = byId<HTMLInputElement>("q");
  const rows = byId("rows");
  const status = byId("status");
  const prev = byId<HTMLButtonElement>("prev-page");
  const next = byId<HTMLButtonElement>("next-page");
  const filters = {
    client: byId<HTMLSelectElement>("filter-client"),
    source: byId<HTMLSelectElement>("filter-source"),
    form: byId<HTMLSelectElement>("filter-form"),
    from: byId<HTMLInputElement>("filter-from"),
    to: byId<HTMLInputElement>("filter-to"),
    sort: byId<HTMLSelectElement>("filter-sort"),
  };
  // The cursors of the pages before this one (a stack), and the next page's.
  let cursors: (string | undefined)[] = [];
  let cursor: string | undefined;
  let nextCursor: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let generation = 0;

  function query(): Record<string, unknown> {
    const body: Record<string, unknown> = { limit: PAGE_SIZE };
    if (q.value.trim()) body.q = q.value.trim();
    if (filters.client.value) body.client = filters.client.value;
    if (filters.source.value) body.source = filters.source.value;
    if (filters.form.value) body.form = filters.form.value;
    if (filters.from.value) body.from = new Date(`${filters.from.value}T00:00:00Z`).toISOString();
    if (filters.to.value) body.to = new Date(Date.parse(`${filters.to.value}T00:00:00Z`) + 86_400_000).toISOString();
    if (filters.sort.value && !body.q) {
      const [sort, dir] = filters.sort.value.split(":");
      body.sort = sort;
      body.dir = dir;
    }
    if (cursor) body.cursor = cursor;
    return body;
  }

  async function load(): Promise<void> {
    const mine = ++generation;
    rows.setAttribute("aria-busy", "true");
    status.textContent = "Loading…";
    try {
      const page = await api<Page>("POST", "/api/v1/patients/search", query());
      if (mine !== generation) return; // a newer search answered first
      rows.replaceChildren(...page.items.map(row));
      nextCursor = page.nextCursor;
      prev.disabled = cursors.length === 0;
      next.disabled = !nextCursor;
      const n = page.items.length;
      announce(n === 0 ? "No patients found" : `${n} patient${n === 1 ? "" : "s"} shown`, status);
    } catch (error) {
      if (mine !== generation) return;
      rows.replaceChildren();
      announce((error as Error).message, status);
    } finally {
      if (mine === generation) rows.removeAttribute("aria-busy");
    }
  }

  /** From the first page again (the search or a filter changed). */
  function restart(): void {
    cursors = [];
    cursor = undefined;
    void load();
  }

  function row(p: Patient): HTMLTableRowElement {
    const name = p.fullName || [p.firstName, p.lastName].filter(Boolean).join(" ") || "(no name)";
    const open = h("button", { type: "button", class: "link", onclick: () => openDrawer(p.id) }, name);
    return h(
      "tr",
      {},
      h("td", {}, open),
      h("td", {}, p.email ?? ""),
      h("td", {}, p.phone ?? ""),
      h("td", {}, p.dateOfBirth ?? ""),
      h("td", {}, p.city ?? ""),
      h("td", {}, p.source ?? ""),
      h("td", {}, when(p.submittedAt)),
    );
  }

  q.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(restart, SEARCH_DELAY_MS);
  });
  byId("search").addEventListener("submit", (e) => {
    e.preventDefault();
    clearTimeout(timer);
    restart();
  });
  for (const el of Object.values(filters)) el.addEventListener("change", restart);
  next.addEventListener("click", () => {
    if (!nextCursor) return;
    cursors.push(cursor);
    cursor = nextCursor;
    void load();
  });
  prev.addEventListener("click", () => {
    if (cursors.length === 0) return;
    cursor = cursors.pop();
    void load();
  });

  // The drawer: a modal dialog, so the page behind is inert; Escape or Close returns focus.
  const drawer = byId<HTMLDialogElement>("drawer");
  const drawerBody = byId("drawer-body");
  trapFocus(drawer);
  byId("drawer-close").addEventListener("click", () => drawer.close());
  let opener: HTMLElement | null = null;
  drawer.addEventListener("close", () => opener?.focus());

  /** Without a timeline in the answer (an API before it had one): the latest submission the record holds. */
  const latestOnly = (p: Patient): TimelineEntry[] =>
    p.submittedAt
      ? [
          {
            eventId: String(p.eventId ?? ""),
            source: String(p.source ?? ""),
            formId: (p.formId as string | null) ?? null,
            submittedAt: p.submittedAt,
            answers: p.answers as TimelineEntry["answers"],
          },
        ]
      : [];

  async function openDrawer(id: string): Promise<void> {
    opener = document.activeElement as HTMLElement | null;
    byId("drawer-title").textContent = "Patient";
    drawerBody.replaceChildren(h("p", {}, "Loading…"));
    drawer.showModal();
    byId("drawer-close").focus();
    try {
      const p = await api<Patient & { timeline?: TimelineEntry[] }>(
        "GET",
        `/api/v1/patients/${encodeURIComponent(id)}`,
      );
      byId("drawer-title").textContent =
        p.fullName || [p.firstName, p.lastName].filter(Boolean).join(" ") || `Patient ${id}`;
      drawerBody.replaceChildren(details(p), timeline(p.timeline ?? latestOnly(p)));
    } catch (error) {
      drawerBody.replaceChildren(h("p", { role: "alert" }, (error as ApiError).message));
    }
  }

  /** Where a field's value came from, as the detail's `origins` says (absent: unknown). */
  function originOf(p: Patient, field: string): string {
    const o = (p.origins as Record<string, Origin> | undefined)?.[field];
    if (!o) return "";
    if (o.kind === "manual") return `edited by hand${o.by ? ` by ${o.by}` : ""}, ${when(o.editedAt)}`;
    return `from ${o.label ? `“${o.label}” in ` : ""}${o.source}${o.formId ? ` form ${o.formId}` : ""}, ${when(o.submittedAt)}`;
  }

  function details(p: Patient): HTMLElement {
    const fields: [string, unknown, string?][] = [
      ["Email", p.email, "email"],
      ["Phone", p.phone, "phone"],
      ["Date of birth", p.dateOfBirth, "dateOfBirth"],
      ["Gender", p.gender, "gender"],
      ["Street", p.street, "street"],
      ["Postal code", p.postalCode, "postalCode"],
      ["City", p.city, "city"],
      ["Country", p.country, "country"],
      ["Consent", p.consent === undefined || p.consent === null ? null : p.consent ? "yes" : "no", "consent"],
      ["Source", p.source],
      ["Last submitted", when(p.submittedAt)],
    ];
    return h(
      "section",
      { "aria-labelledby": "drawer-fields" },
      h("h3", { id: "drawer-fields" }, "Details"),
      h(
        "dl",
        {},
        fields
          .filter(([, v]) => v !== null && v !== undefined && v !== "")
          .map(([k, v, field]) => {
            const origin = field ? originOf(p, field) : "";
            return [h("dt", {}, k), h("dd", {}, String(v), origin ? h("span", { class: "origin" }, origin) : null)];
          }),
      ),
    );
  }

  function timeline(entries: TimelineEntry[] | undefined): HTMLElement {
    const list = (entries ?? []).slice().reverse();
    return h(
      "section",
      { "aria-labelledby": "drawer-timeline" },
      h("h3", { id: "drawer-timeline" }, "Timeline"),
      list.length === 0
        ? h("p", {}, "No submissions recorded.")
        : h(
            "ol",
            { class: "timeline" },
            list.map((e) =>
              h(
                "li",
                {},
                h(
                  "p",
                  { class: "when" },
                  `${when(e.submittedAt)} · ${e.source}${e.formId ? ` · form ${e.formId}` : ""}`,
                ),
                e.status && e.status !== "merged" ? h("p", { class: "badge" }, e.status.replace("-", " ")) : null,
                answerList(e.answers).length
                  ? h(
                      "dl",
                      { class: "answers" },
                      answerList(e.answers).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
                    )
                  : null,
              ),
            ),
          ),
    );
  }

  async function refreshFilters(): Promise<void> {
    const keep = { client: filters.client.value, source: filters.source.value, form: filters.form.value };
    // A list the caller may not read (a client-scoped token and forms) leaves its filter at "All".
    const [clients, sources, forms] = await Promise.all([
      api<{ items: { id: string; name: string }[] }>("GET", "/api/v1/clients").catch(() => ({ items: [] })),
      api<{ items: { name: string }[] }>("GET", "/api/v1/sources").catch(() => ({ items: [] })),
      api<{ items: { source: string; formId: string }[] }>("GET", "/api/v1/forms").catch(() => ({ items: [] })),
    ]);
    const formIds = [...new Set(forms.items.map((f) => f.formId))].sort();
    filters.form.replaceChildren(
      h("option", { value: "" }, "All forms"),
      ...formIds.map((id) => h("option", { value: id }, id)),
    );
    filters.form.value = keep.form;
    filters.client.replaceChildren(
      h("option", { value: "" }, "All clients"),
      ...clients.items.map((c) => h("option", { value: c.id }, c.name)),
    );
    filters.source.replaceChildren(
      h("option", { value: "" }, "All sources"),
      ...sources.items.map((s) => h("option", { value: s.name }, s.name)),
    );
    filters.client.value = keep.client;
    filters.source.value = keep.source;
  }

  return {
    show() {
      void load();
    },
    refreshFilters,
  };
}
