// METRICS_PORT: the dashboard's /metrics on a port of its own, apart from the API and page that
// an HTTP Ingress publishes (the chart sets it; services/dashboard/main.ts serves it there).
import { expect, test } from "bun:test";
import { readDashboardConfig } from "../../services/dashboard/config.ts";
import { ConfigError } from "../../shared/config.ts";
import { inProcessDashboard } from "./dashboard-in-process.ts";

const base = { HOOKLINE_ENV: "development" };

test("by default /metrics is served with the API (local runs, METRICS_PORT=0)", async () => {
  expect(readDashboardConfig(base).metricsPort).toBe(0);
  const res = await inProcessDashboard().call("GET", "/metrics");
  expect(res.status).toBe(200);
  expect(await res.text()).toContain("# HELP");
});

test("with a port of its own, the API's port answers /metrics 404", async () => {
  expect(readDashboardConfig({ ...base, METRICS_PORT: "9464" }).metricsPort).toBe(9464);
  const { call } = inProcessDashboard({ serveMetrics: false });
  const res = await call("GET", "/metrics");
  expect(res.status).toBe(404);
  expect((await res.json()).error.code).toBe("not_found");
  expect((await call("GET", "/health/live")).status).toBe(200);
});

test("METRICS_PORT equal to PORT is refused", () => {
  expect(() => readDashboardConfig({ ...base, PORT: "3000", METRICS_PORT: "3000" })).toThrow(ConfigError);
  expect(() => readDashboardConfig({ ...base, PORT: "3000", METRICS_PORT: "3000" })).toThrow(
    "METRICS_PORT must differ from PORT",
  );
});
