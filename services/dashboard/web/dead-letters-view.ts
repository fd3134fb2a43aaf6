// Dead letters: what could not be stored, with the reason, and a replay button each
// (POST /api/v1/dead-letters/:seq/replay, admin only).
import { api } from "./api.ts";
import { announce, byId, h, when } from "./dom.ts";

interface DeadLetter {
  seq: number;
  source: string;
  eventId: string | null;
  code: string | null;
  reason: string | null;
  storedAt: string;
  deliveries: number | null;
}

export function deadLettersView(): { show(): void } {
  const status = byId("dlq-status");
  const rows = byId("dlq-rows");
  const more = byId<HTMLButtonElement>("dlq-more");
  let cursor: string | null = null;

  function row(l: DeadLetter): HTMLTableRowElement {
    const tr = h(
      "tr",
      {},
      h("td", { class: "num" }, l.seq),
      h("td", {}, when(l.storedAt)),
      h("td", {}, l.source),
      h("td", {}, h("code", {}, l.code ?? "")),
      h("td", {}, l.reason ?? ""),
      h("td", {}, h("code", {}, l.eventId ?? "")),
    );
    const button = h(
      "button",
      {
        type: "button",
        "aria-label": `Replay dead letter ${l.seq}`,
        onclick: async () => {
          button.disabled = true;
          try {
            const { replayed } = await api<{ replayed: { replayedAs: number } }>(
              "POST",
              `/api/v1/dead-letters/${l.seq}/replay`,
            );
            const next = (tr.nextElementSibling ?? tr.previousElementSibling)?.querySelector("button");
            tr.remove();
            (next ?? more).focus();
            announce(`Dead letter ${l.seq} replayed (stream sequence ${replayed.replayedAs})`, status);
          } catch (error) {
            button.disabled = false;
            announce((error as Error).message, status);
          }
        },
      },
      "Replay",
    );
    tr.append(h("td", {}, button));
    return tr;
  }

  async function load(append: boolean): Promise<void> {
    status.textContent = "Loading…";
    try {
      const page = await api<{ items: DeadLetter[]; nextCursor: string | null }>(
        "GET",
        `/api/v1/dead-letters?limit=50${append && cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      if (append) rows.append(...page.items.map(row));
      else rows.replaceChildren(...page.items.map(row));
      cursor = page.nextCursor;
      more.hidden = !cursor;
      const n = rows.childElementCount;
      announce(n === 0 ? "No dead letters" : `${n} dead letter${n === 1 ? "" : "s"} shown`, status);
    } catch (error) {
      rows.replaceChildren();
      announce((error as Error).message, status);
    }
  }
  more.addEventListener("click", () => void load(true));
  return {
    show() {
      void load(false);
    },
  };
}
