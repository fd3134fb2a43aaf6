// Sources: every source with its client, state and health (GET /api/v1/sources).
import { api } from "./api.ts";
import { announce, byId, h, when } from "./dom.ts";

interface Source {
  name: string;
  type: string;
  clientId: string | null;
  enabled: boolean;
  origin: string;
  lastEventAt: string | null;
  eventsLast24h: number;
  errorsLast24h: number;
}

export function sourcesView(): { show(): void } {
  const status = byId("sources-status");
  async function load(): Promise<void> {
    status.textContent = "Loading…";
    try {
      const [sources, clients] = await Promise.all([
        api<{ items: Source[] }>("GET", "/api/v1/sources"),
        api<{ items: { id: string; name: string }[] }>("GET", "/api/v1/clients").catch(() => ({ items: [] })),
      ]);
      const names = new Map(clients.items.map((c) => [c.id, c.name]));
      byId("sources-rows").replaceChildren(
        ...sources.items.map((s) =>
          h(
            "tr",
            {},
            h("td", {}, s.name),
            h("td", {}, s.type),
            h("td", {}, s.clientId ? (names.get(s.clientId) ?? s.clientId) : "Unassigned"),
            h("td", {}, s.origin),
            h("td", {}, h("span", { class: s.enabled ? "badge ok" : "badge off" }, s.enabled ? "enabled" : "disabled")),
            h("td", {}, when(s.lastEventAt) || "never"),
            h("td", { class: "num" }, s.eventsLast24h),
            h("td", { class: "num" }, s.errorsLast24h),
          ),
        ),
      );
      announce(`${sources.items.length} sources`, status);
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
