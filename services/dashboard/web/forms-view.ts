// Forms: a form's field mapping (issue #14). Pick a form (GET /api/v1/forms); its review list
// (fields no rule maps or maps with low confidence, with suggestions and why), one click putting a
// suggestion into the pending changes; every field with its saved target and a select to change
// it; Preview (POST …/mappings/preview) and Save (PUT …/mappings with the version read, so a save
// over someone else's is refused with 409); the version history. Viewers see it read-only: the
// API refuses them anyway, the page just does not offer what would fail.
import { ApiError, api } from "./api.ts";
import { announce, byId, h, when } from "./dom.ts";
import { type PreviewItem, previewTables } from "./mapping-preview.ts";

interface FormSummary {
  source: string;
  formId: string;
  submissions: number;
  lastSubmittedAt: string;
}
interface Suggestion {
  target: string;
  confidence: number;
  because: string;
}
interface ReviewItem {
  label: string;
  status: "unmapped" | "low-confidence";
  fields?: Record<string, number>;
  suggestions: Suggestion[];
}
interface Mapping {
  version: number;
  corrections: Record<string, string>;
  configured: Record<string, string>;
  targets: string[];
  history: { version: number; changes: Record<string, string | null>; changedBy: string; changedAt: string }[];
}
/** A pending change: a canonical field, "ignore", or null (remove the correction: the rules decide). */
type Change = string | null;

const targetName = (t: Change | undefined) =>
  t == null ? "rules decide" : t === "ignore" ? "ignore (not patient data)" : t;
const percent = (n: number) => `${Math.round(n * 100)}%`;
const path = (f: FormSummary, rest = "") =>
  `/api/v1/forms/${encodeURIComponent(f.source)}/${encodeURIComponent(f.formId)}${rest}`;

export function formsView(): { show(): void } {
  const pick = byId<HTMLSelectElement>("forms-pick");
  const status = byId("forms-status");
  const detail = byId("forms-detail");
  let forms: FormSummary[] = [];
  let canEdit = true;
  let form: FormSummary | undefined;
  let mapping: Mapping | undefined;
  /** label → change, not saved yet. */
  const pending = new Map<string, Change>();
  const selects = new Map<string, HTMLSelectElement>();
  let ids = 0;
  const id = (name: string) => `forms-${name}-${++ids}`;

  const pendingList = h("ul", { id: "forms-pending", class: "pending" });
  const pendingTitle = h("h3", {}, "Pending changes");
  const previewButton = h(
    "button",
    { id: "forms-preview-button", type: "button", onclick: () => void preview() },
    "Preview",
  );
  const saveButton = h(
    "button",
    { id: "forms-save", type: "button", class: "primary", onclick: () => void save() },
    "Save",
  );
  const discardButton = h(
    "button",
    { id: "forms-discard", type: "button", onclick: () => discard() },
    "Discard changes",
  );
  const conflict = h("div", { id: "forms-conflict", class: "warning", role: "alert", hidden: true });
  const previewTitle = h("h3", { id: "forms-preview-title", tabindex: -1 }, "Preview");
  const previewBody = h("div", { id: "forms-preview" });
  const previewBox = h("div", { hidden: true }, previewTitle, previewBody);

  const saved = (label: string) => mapping?.corrections[label] ?? null;

  function setPending(label: string, value: Change): void {
    if (value === saved(label)) pending.delete(label);
    else pending.set(label, value);
    const select = selects.get(label);
    if (select) select.value = value ?? "";
    renderPending();
  }

  function renderPending(): void {
    pendingTitle.textContent = `Pending changes (${pending.size})`;
    pendingList.replaceChildren(
      ...(pending.size === 0
        ? [h("li", {}, "None. Choose a target below, or apply a suggestion.")]
        : [...pending].map(([label, t]) => h("li", {}, h("strong", {}, label), ` → ${targetName(t)}`))),
    );
    for (const b of [previewButton, saveButton, discardButton]) b.disabled = pending.size === 0;
  }

  function discard(): void {
    for (const label of [...pending.keys()]) setPending(label, saved(label));
    previewBox.hidden = true;
    announce("Pending changes discarded", status);
  }

  function targetSelect(label: string, targets: string[]): HTMLSelectElement {
    const current = pending.has(label) ? pending.get(label)! : saved(label);
    const select = h(
      "select",
      {
        "aria-label": `Map “${label}” to`,
        disabled: !canEdit,
        onchange: () => setPending(label, select.value === "" ? null : select.value),
      },
      h("option", { value: "" }, "(no correction: rules decide)"),
      targets.map((t) => h("option", { value: t }, targetName(t))),
    );
    select.value = current ?? "";
    selects.set(label, select);
    return select;
  }

  function reviewSection(items: ReviewItem[]): HTMLElement[] {
    const title = h("h3", {}, `To review (${items.length})`);
    if (items.length === 0)
      return [title, h("p", {}, "Nothing to review: in the form's recent events every field is mapped or ignored.")];
    return [
      title,
      h(
        "p",
        { class: "hint" },
        "Fields no rule maps, and fields mapped with low confidence, in the form's recent events. A suggestion is learned from the corrections made on all forms.",
      ),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { id: "forms-review" },
          h("caption", { class: "sr-only" }, "Fields to review"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col" }, "Field"),
              h("th", { scope: "col" }, "Status"),
              h("th", { scope: "col" }, "Suggestions"),
            ),
          ),
          h(
            "tbody",
            {},
            items.map((item) =>
              h(
                "tr",
                {},
                h("th", { scope: "row" }, item.label),
                h(
                  "td",
                  {},
                  h("span", { class: "badge warn" }, item.status === "unmapped" ? "unmapped" : "low confidence"),
                  item.fields
                    ? h(
                        "span",
                        { class: "hint" },
                        ` ${Object.entries(item.fields)
                          .map(([f, c]) => `${f} at ${percent(c)}`)
                          .join(", ")}`,
                      )
                    : null,
                ),
                h(
                  "td",
                  {},
                  item.suggestions.length === 0
                    ? "No suggestion"
                    : h(
                        "ul",
                        { class: "suggestions" },
                        item.suggestions.map((s) => {
                          const because = id("because");
                          return h(
                            "li",
                            {},
                            canEdit
                              ? h(
                                  "button",
                                  {
                                    type: "button",
                                    "aria-describedby": because,
                                    onclick: () => {
                                      setPending(item.label, s.target);
                                      announce(`“${item.label}” → ${targetName(s.target)}: pending, not saved`, status);
                                    },
                                  },
                                  `Apply ${s.target} (${percent(s.confidence)}) to “${item.label}”`,
                                )
                              : h("strong", {}, `${s.target} (${percent(s.confidence)})`),
                            h("span", { id: because, class: "hint because" }, ` because ${s.because}`),
                          );
                        }),
                      ),
                ),
              ),
            ),
          ),
        ),
      ),
    ];
  }

  function mappingSection(m: Mapping, labels: string[]): HTMLElement[] {
    const last = m.history[0];
    return [
      h("h3", {}, "Mapping"),
      h(
        "p",
        { id: "forms-version" },
        m.version === 0
          ? "No corrections saved yet (version 0): the mapper's rules and the sources file decide."
          : `Version ${m.version}${last ? `, saved by ${last.changedBy} on ${when(last.changedAt)}` : ""}.`,
      ),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { id: "forms-fields" },
          h("caption", { class: "sr-only" }, "The form's fields and their targets"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col" }, "Field"),
              h("th", { scope: "col" }, "Saved"),
              h("th", { scope: "col" }, "Map to"),
            ),
          ),
          h(
            "tbody",
            {},
            labels.map((label) =>
              h(
                "tr",
                {},
                h("th", { scope: "row" }, label),
                h(
                  "td",
                  {},
                  m.corrections[label] !== undefined
                    ? `${targetName(m.corrections[label])} (correction)`
                    : m.configured[label] !== undefined
                      ? `${targetName(m.configured[label])} (sources file)`
                      : "rules",
                ),
                h("td", {}, targetSelect(label, m.targets)),
              ),
            ),
          ),
        ),
      ),
    ];
  }

  function historySection(m: Mapping): HTMLElement[] {
    if (m.history.length === 0) return [];
    return [
      h("h3", {}, "History"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { id: "forms-history" },
          h("caption", { class: "sr-only" }, "Saved versions, newest first"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col", class: "num" }, "Version"),
              h("th", { scope: "col" }, "Saved"),
              h("th", { scope: "col" }, "By"),
              h("th", { scope: "col" }, "Changes"),
            ),
          ),
          h(
            "tbody",
            {},
            m.history.map((v) =>
              h(
                "tr",
                {},
                h("td", { class: "num" }, v.version),
                h("td", {}, when(v.changedAt)),
                h("td", {}, v.changedBy),
                h(
                  "td",
                  {},
                  Object.entries(v.changes)
                    .map(([label, t]) => `${label} → ${t === null ? "correction removed" : targetName(t)}`)
                    .join("; "),
                ),
              ),
            ),
          ),
        ),
      ),
    ];
  }

  /** Loads the picked form's mapping, review and questions; pending changes still differing are kept. */
  async function loadForm(): Promise<void> {
    form = forms[Number(pick.value)];
    detail.replaceChildren();
    selects.clear();
    previewBox.hidden = true;
    conflict.hidden = true;
    if (!form) return;
    status.textContent = "Loading…";
    try {
      const [m, review, questions] = await Promise.all([
        api<Mapping>("GET", path(form, "/mappings")),
        api<{ items: ReviewItem[] }>("GET", path(form, "/review")),
        api<{ items: { label: string }[] }>("GET", path(form, "/questions")).catch(() => ({ items: [] })),
      ]);
      mapping = m;
      for (const [label, t] of [...pending]) if (t === saved(label)) pending.delete(label);
      const labels = [
        ...new Set([
          ...review.items.map((i) => i.label),
          ...questions.items.map((q) => q.label),
          ...Object.keys(m.corrections),
          ...Object.keys(m.configured).filter((k) => k !== "*"),
          ...pending.keys(),
        ]),
      ];
      const command = `./ops/hookline reproject --source ${form.source} --form ${form.formId}`;
      detail.replaceChildren(
        canEdit
          ? ""
          : h(
              "p",
              { class: "warning", id: "forms-read-only" },
              "Read-only: your role can view mappings; editors and admins change them.",
            ),
        ...reviewSection(review.items),
        ...mappingSection(m, labels),
        canEdit
          ? h(
              "div",
              { class: "pending-box" },
              pendingTitle,
              pendingList,
              h("div", { class: "actions" }, previewButton, saveButton, discardButton),
              conflict,
              previewBox,
            )
          : "",
        h(
          "p",
          { class: "hint", id: "forms-reproject" },
          "A saved mapping applies to new events at once, on every projector. Past events keep theirs until re-mapped from the raw log: ",
          h("code", {}, command),
        ),
        ...historySection(m),
      );
      renderPending();
      announce(
        `Form ${form.formId} (${form.source}): version ${m.version}, ${review.items.length} field${review.items.length === 1 ? "" : "s"} to review`,
        status,
      );
    } catch (error) {
      announce((error as Error).message, status);
    }
  }

  async function preview(): Promise<void> {
    if (!form || pending.size === 0) return;
    previewButton.disabled = true;
    try {
      const result = await api<{ items: PreviewItem[] }>("POST", path(form, "/mappings/preview"), {
        changes: Object.fromEntries(pending),
      });
      previewBody.replaceChildren(...previewTables(result.items));
      previewBox.hidden = false;
      previewTitle.focus();
      const changing = result.items.filter((i) => i.changedFields.length > 0).length;
      announce(`Preview: ${changing} of ${result.items.length} recent events change`, status);
    } catch (error) {
      announce((error as Error).message, status);
    } finally {
      previewButton.disabled = pending.size === 0;
    }
  }

  async function save(): Promise<void> {
    if (!form || !mapping || pending.size === 0) return;
    saveButton.disabled = true;
    try {
      const result = await api<{ version: number }>("PUT", path(form, "/mappings"), {
        changes: Object.fromEntries(pending),
        version: mapping.version,
      });
      pending.clear();
      await loadForm();
      announce(
        `Saved as version ${result.version}. New events of this form are mapped with it; past events: ./ops/hookline reproject --source ${form.source} --form ${form.formId}`,
        status,
      );
      status.focus();
    } catch (error) {
      const e = error as ApiError;
      if (e instanceof ApiError && e.status === 409) {
        conflict.replaceChildren(
          h(
            "p",
            {},
            "Not saved: this mapping was changed by someone else since you loaded it. Reload it to see their changes; yours stay pending.",
          ),
          h("button", { type: "button", onclick: () => void loadForm().then(() => pick.focus()) }, "Reload"),
        );
        conflict.hidden = false;
        announce("Not saved: changed by someone else, reload", status);
      } else announce(e.message, status);
      saveButton.disabled = pending.size === 0;
    }
  }

  pick.addEventListener("change", () => {
    pending.clear();
    void loadForm();
  });

  async function load(): Promise<void> {
    // Emptied by Sign out (main.ts): whoever signs in next does not inherit the changes pending.
    if (!detail.hasChildNodes()) pending.clear();
    status.textContent = "Loading…";
    try {
      const [list, me] = await Promise.all([
        api<{ items: FormSummary[] }>("GET", "/api/v1/forms"),
        // The role decides what is offered; without an answer, everything is, and the API decides.
        api<{ role: string }>("GET", "/api/v1/auth/me").catch(() => ({ role: "" })),
      ]);
      canEdit = me.role !== "viewer";
      const before = form;
      forms = list.items;
      pick.replaceChildren(
        ...forms.map((f, i) =>
          h(
            "option",
            { value: i },
            `${f.formId} (${f.source}, ${f.submissions} submission${f.submissions === 1 ? "" : "s"})`,
          ),
        ),
      );
      const again = before ? forms.findIndex((f) => f.source === before.source && f.formId === before.formId) : -1;
      pick.value = String(Math.max(0, again));
      if (again < 0) pending.clear();
      if (forms.length === 0) {
        detail.replaceChildren();
        announce("No forms yet: a form is listed once a submission of it was stored.", status);
        return;
      }
      await loadForm();
    } catch (error) {
      announce((error as Error).message, status);
    }
  }

  return {
    show() {
      void load();
    },
  };
}
