// "Add New Client": name the client, pick the form tool, optionally name the source; the answer
// shows the webhook URL, the secret (once: it is not kept anywhere the page can get it again)
// and the tool's setup steps, each copyable.
import { type ApiError, api } from "./api.ts";
import { announce, byId, copy, h, trapFocus } from "./dom.ts";
import { type ClientForm, SOURCE_TYPES, validateClient } from "./validate.ts";

interface Created {
  client: { id: string; name: string; createdAt: string };
  source: { name: string; type: string; webhookUrl: string; secret: string; setup: string[] };
}

const FIELDS = ["name", "sourceType", "sourceName"] as const;

export function clientModal(onCreated: () => void): { open(): void } {
  const dialog = byId<HTMLDialogElement>("client-dialog");
  const form = byId<HTMLFormElement>("client-form");
  const result = byId("client-result");
  const typeSelect = byId<HTMLSelectElement>("client-sourceType");
  typeSelect.replaceChildren(
    h("option", { value: "" }, "Choose…"),
    ...SOURCE_TYPES.map((t) => h("option", { value: t.value }, t.label)),
  );
  trapFocus(dialog);
  let opener: HTMLElement | null = null;
  dialog.addEventListener("close", () => {
    // The secret leaves the page with the dialog's contents.
    result.replaceChildren();
    opener?.focus();
  });
  byId("client-cancel").addEventListener("click", () => dialog.close());
  const touched = new Set<string>();

  const input = (f: (typeof FIELDS)[number]) => byId<HTMLInputElement | HTMLSelectElement>(`client-${f}`);
  const values = (): ClientForm => ({
    name: input("name").value,
    sourceType: input("sourceType").value,
    sourceName: input("sourceName").value,
  });

  /** Shows each touched field's problem under it (aria-invalid + aria-describedby); true if none at all. */
  function check(all = false): boolean {
    const errors = validateClient(values());
    for (const f of FIELDS) {
      const message = all || touched.has(f) ? errors[f] : undefined;
      const el = input(f);
      byId(`client-${f}-error`).textContent = message ?? "";
      if (message) el.setAttribute("aria-invalid", "true");
      else el.removeAttribute("aria-invalid");
    }
    return Object.keys(errors).length === 0;
  }
  for (const f of FIELDS) {
    input(f).addEventListener("input", () => {
      touched.add(f);
      check();
    });
    input(f).addEventListener("blur", () => {
      touched.add(f);
      check();
    });
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!check(true)) {
      const firstBad = FIELDS.map(input).find((el) => el.getAttribute("aria-invalid") === "true");
      firstBad?.focus();
      announce("Please correct the marked fields.");
      return;
    }
    const { name, sourceType, sourceName } = values();
    const submit = byId<HTMLButtonElement>("client-submit");
    submit.disabled = true;
    byId("client-form-error").textContent = "";
    try {
      const created = await api<Created>("POST", "/api/v1/clients", {
        name: name.trim(),
        sourceType,
        ...(sourceName.trim() ? { sourceName: sourceName.trim() } : {}),
      });
      showResult(created);
      onCreated();
    } catch (error) {
      const err = error as ApiError;
      // A name or source name already taken belongs next to its field.
      const field = err.code.includes("source")
        ? "sourceName"
        : err.code.includes("name") || err.status === 409
          ? "name"
          : null;
      if (field) {
        byId(`client-${field}-error`).textContent = err.message;
        input(field).setAttribute("aria-invalid", "true");
        input(field).focus();
      } else byId("client-form-error").textContent = err.message;
      announce(err.message);
    } finally {
      submit.disabled = false;
    }
  });

  function copyRow(label: string, id: string, value: string): HTMLElement {
    const status = h("span", { class: "copied", "aria-live": "polite" });
    return h(
      "div",
      { class: "copy-row" },
      h("label", { for: id }, label),
      h("input", { id, type: "text", readonly: true, value, spellcheck: "false" }),
      h(
        "button",
        {
          type: "button",
          "aria-label": `Copy ${label.toLowerCase()}`,
          onclick: async () => {
            status.textContent = (await copy(value)) ? "Copied" : "Select and copy by hand";
          },
        },
        "Copy",
      ),
      status,
    );
  }

  function showResult(created: Created): void {
    form.hidden = true;
    const steps = created.source.setup ?? [];
    const stepsText = steps.map((s, i) => `${i + 1}. ${s}`).join("\n");
    const stepsStatus = h("span", { class: "copied", "aria-live": "polite" });
    result.replaceChildren(
      h("h3", { id: "client-result-title", tabindex: "-1" }, `${created.client.name} was added`),
      h("p", {}, `Source ${created.source.name} (${created.source.type}) is ready to receive webhooks.`),
      copyRow("Webhook URL", "client-webhook-url", created.source.webhookUrl),
      copyRow("Secret", "client-secret", created.source.secret),
      h("p", { class: "warning" }, "The secret is shown only now. Copy it into the form tool before closing."),
      h("h4", {}, "Setup steps"),
      h(
        "ol",
        { id: "client-steps" },
        steps.map((s) => h("li", {}, s)),
      ),
      h(
        "button",
        {
          type: "button",
          onclick: async () => {
            stepsStatus.textContent = (await copy(stepsText)) ? "Copied" : "Select and copy by hand";
          },
        },
        "Copy setup steps",
      ),
      stepsStatus,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", onclick: () => dialog.close() }, "Done"),
      ),
    );
    result.hidden = false;
    byId("client-result-title").focus();
    announce(`${created.client.name} was added. The webhook URL and secret are shown.`);
  }

  return {
    open() {
      opener = document.activeElement as HTMLElement | null;
      form.reset();
      touched.clear();
      check();
      byId("client-form-error").textContent = "";
      form.hidden = false;
      result.hidden = true;
      dialog.showModal();
      input("name").focus();
    },
  };
}
