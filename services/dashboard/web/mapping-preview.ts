// The preview of pending field-mapping changes: per recent event of the form, each patient field
// before and after, the changed ones marked in words as well as colour (POST …/mappings/preview).
import { h, when } from "./dom.ts";

export interface PreviewItem {
  eventId: string;
  receivedAt: string;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  changedFields: string[];
}

const shown = (v: unknown) =>
  v === undefined || v === null ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v);

/** One table per event; fields empty before and after are left out. */
export function previewTables(items: PreviewItem[]): HTMLElement[] {
  if (items.length === 0) return [h("p", {}, "This form has no stored events to preview with.")];
  return items.map((item) => {
    const changed = new Set(item.changedFields);
    const fields = [...new Set([...Object.keys(item.before), ...Object.keys(item.after)])].filter(
      (f) => changed.has(f) || item.before[f] != null,
    );
    const caption = `Event ${item.eventId}, received ${when(item.receivedAt)}: ${
      changed.size === 0 ? "no field changes" : `${changed.size} field${changed.size === 1 ? "" : "s"} change`
    }`;
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "preview" },
        h("caption", {}, caption),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Field"),
            h("th", { scope: "col" }, "Before"),
            h("th", { scope: "col" }, "After"),
            h("th", { scope: "col" }, "Change"),
          ),
        ),
        h(
          "tbody",
          {},
          fields.map((f) =>
            h(
              "tr",
              { class: changed.has(f) ? "changed" : null },
              h("th", { scope: "row" }, f),
              h("td", {}, shown(item.before[f])),
              h("td", {}, shown(item.after[f])),
              h("td", {}, changed.has(f) ? h("span", { class: "badge changed" }, "changed") : ""),
            ),
          ),
        ),
      ),
    );
  });
}
