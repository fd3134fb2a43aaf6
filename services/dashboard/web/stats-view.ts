// Stats: headline numbers, submissions per day and per source per day (uPlot charts, each with
// a table of the same numbers for screen readers and keyboard users), clients and sources.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
// The answer's shape as the server declares it (a type: nothing of the server's module is bundled).
import type { StatsDto as Stats } from "../stats.ts";
import { api } from "./api.ts";
import { announce, byId, h, when } from "./dom.ts";

// Distinguishable in colour-blind vision (Okabe-Ito), then repeated.
const COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

export function statsView(): { show(): void } {
  const range = byId<HTMLSelectElement>("stats-days");
  const status = byId("stats-status");
  const charts: uPlot[] = [];

  function chart(target: HTMLElement, title: string, days: string[], series: { label: string; values: number[] }[]) {
    const width = Math.max(280, target.clientWidth || 600);
    const x = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const plot = new uPlot(
      {
        title,
        width,
        height: 220,
        scales: { x: { time: true } },
        axes: [{}, { label: "submissions" }],
        series: [
          { label: "day", value: (_u, v) => (v == null ? "" : new Date(v * 1000).toISOString().slice(0, 10)) },
          ...series.map((s, i) => ({
            label: s.label,
            stroke: COLOURS[i % COLOURS.length],
            width: 2,
            points: { show: days.length <= 31 },
          })),
        ],
      },
      [x, ...series.map((s) => s.values)],
      target,
    );
    charts.push(plot);
  }

  /** The chart's numbers as a table (what a screen reader reads instead of the canvas). */
  function table(caption: string, days: string[], series: { label: string; values: number[] }[]): HTMLElement {
    return h(
      "details",
      {},
      h("summary", {}, `${caption}: table`),
      h(
        "table",
        {},
        h("caption", {}, caption),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Day"),
            series.map((s) => h("th", { scope: "col" }, s.label)),
          ),
        ),
        h(
          "tbody",
          {},
          days.map((d, i) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, d),
              series.map((s) => h("td", {}, s.values[i] ?? 0)),
            ),
          ),
        ),
      ),
    );
  }

  async function load(): Promise<void> {
    status.textContent = "Loading…";
    let stats: Stats;
    try {
      stats = await api<Stats>("GET", `/api/v1/stats?days=${encodeURIComponent(range.value)}`);
    } catch (error) {
      announce((error as Error).message, status);
      return;
    }
    byId("stat-events").textContent = String(stats.totals.events);
    byId("stat-patients").textContent = String(stats.totals.patients);
    byId("stat-dead").textContent = stats.totals.deadLetters === null ? "–" : String(stats.totals.deadLetters);
    for (const c of charts.splice(0)) c.destroy();
    const perDayEl = byId("chart-per-day");
    const perSourceEl = byId("chart-per-source");
    perDayEl.replaceChildren();
    perSourceEl.replaceChildren();
    const total = [{ label: "all sources", values: stats.perDay.map((d) => d.events) }];
    const sources = [...new Set(stats.daily.map((d) => d.source))].sort();
    const bySource = sources.map((source) => ({
      label: source,
      values: stats.days.map((day) =>
        stats.daily.filter((d) => d.day === day && d.source === source).reduce((n, d) => n + d.events, 0),
      ),
    }));
    chart(perDayEl, "Submissions per day", stats.days, total);
    perDayEl.append(table("Submissions per day", stats.days, total));
    if (bySource.length) {
      chart(perSourceEl, "Submissions per day, by source", stats.days, bySource);
      perSourceEl.append(table("Submissions per day, by source", stats.days, bySource));
    } else perSourceEl.append(h("p", {}, "No submissions in this period."));
    const clientName = new Map(stats.perClient.map((c) => [c.clientId, c.name]));
    byId("stats-clients").replaceChildren(
      ...stats.perClient.map((c) =>
        h("tr", {}, h("td", {}, c.name ?? "Unassigned"), h("td", { class: "num" }, c.events)),
      ),
    );
    byId("stats-sources").replaceChildren(
      ...stats.perSource.map((s) =>
        h(
          "tr",
          {},
          h("td", {}, s.source),
          h("td", {}, s.clientId ? (clientName.get(s.clientId) ?? s.clientId) : "Unassigned"),
          h("td", { class: "num" }, s.events),
          h("td", {}, when(s.lastEventAt) || "never"),
        ),
      ),
    );
    byId("stats-forms").replaceChildren(
      ...[...stats.perForm]
        .sort((a, b) => b.events - a.events)
        .map((f) =>
          h("tr", {}, h("td", {}, f.formId ?? "(none)"), h("td", {}, f.source), h("td", { class: "num" }, f.events)),
        ),
    );
    announce(`${stats.totals.events} submissions in the last ${stats.days.length} days`, status);
  }

  range.addEventListener("change", () => void load());
  let resize: ReturnType<typeof setTimeout> | undefined;
  window.addEventListener("resize", () => {
    clearTimeout(resize);
    resize = setTimeout(() => {
      for (const c of charts)
        c.setSize({ width: Math.max(280, c.root.parentElement?.clientWidth ?? 600), height: 220 });
    }, 150);
  });
  return {
    show() {
      void load();
    },
  };
}
