import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readDashboardConfig } from "../../services/dashboard/config.ts";
import { readIngressConfig } from "../../services/ingress/config.ts";
import { readProjectorConfig } from "../../services/projector/config.ts";
import { ConfigError } from "../../shared/config.ts";
import { readMigrations } from "../../shared/db/migrate.ts";

describe("config", () => {
  test("with HOOKLINE_ENV=development the dev defaults need no other variables", () => {
    const dev = { HOOKLINE_ENV: "development" };
    const c = readProjectorConfig(dev);
    expect(c.natsUrl).toBe("nats://127.0.0.1:4222");
    expect(c.port).toBe(8081);
    expect(c.batchSize).toBe(500);
    expect(c.provision).toBe(true);
    expect(readIngressConfig(dev).port).toBe(8080);
    expect(readDashboardConfig(dev).port).toBe(3000);
  });

  test("values from the environment are parsed to their types", () => {
    const c = readProjectorConfig({
      HOOKLINE_ENV: "development",
      PORT: "9000",
      BATCH_SIZE: "42",
      HOOKLINE_PROVISION: "false",
      NATS_URL: "nats://a:4222,nats://b:4222",
    });
    expect(c).toMatchObject({ port: 9000, batchSize: 42, provision: false, natsUrl: "nats://a:4222,nats://b:4222" });
  });

  test("RETRY_DELAY_MS below 10 ms is refused (a redelivery without a delay would spin through an outage)", () => {
    expect(() => readProjectorConfig({ HOOKLINE_ENV: "development", RETRY_DELAY_MS: "0" })).toThrow(/RETRY_DELAY_MS/);
    expect(readProjectorConfig({ HOOKLINE_ENV: "development", RETRY_DELAY_MS: "10" }).retryDelayMs).toBe(10);
  });

  test("one error lists every bad variable", () => {
    let error: unknown;
    try {
      readProjectorConfig({
        HOOKLINE_ENV: "development",
        PORT: "http",
        BATCH_SIZE: "0",
        DATABASE_URL: "mysql://x",
        LOG_LEVEL: "loud",
        HOOKLINE_PROVISION: "maybe",
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(5);
    expect(problems.map((p) => p.split(/[=: ]/)[0])).toEqual([
      "LOG_LEVEL",
      "PORT",
      "DATABASE_URL",
      "BATCH_SIZE",
      "HOOKLINE_PROVISION",
    ]);
    expect((error as ConfigError).code).toBe("invalid_config");
  });

  test("PUBLIC_WEBHOOK_BASE_URL: the local ingress only in development; never this host in production", () => {
    expect(readDashboardConfig({ HOOKLINE_ENV: "development" }).publicWebhookBaseUrl).toBe("http://127.0.0.1:8080");
    expect(() => readDashboardConfig({ DATABASE_URL: "postgres://db/x" })).toThrow(/PUBLIC_WEBHOOK_BASE_URL/);
    const production = {
      HOOKLINE_ENV: "production",
      DATABASE_URL: "postgres://u:p@db/x",
      DASHBOARD_API_TOKENS: "a-long-enough-admin-token-0001=admin",
      HOOKLINE_SOURCES: "/etc/hookline/sources.yaml",
    };
    expect(() => readDashboardConfig({ ...production, PUBLIC_WEBHOOK_BASE_URL: "http://localhost:8080" })).toThrow(
      "PUBLIC_WEBHOOK_BASE_URL must be where senders reach the ingress",
    );
  });

  test("secret values are not echoed in errors", () => {
    try {
      readDashboardConfig({ DATABASE_URL: "mysql://user:hunter2@db/x" });
      throw new Error("expected a ConfigError");
    } catch (e) {
      expect((e as Error).message).toContain("DATABASE_URL=<redacted>");
      expect((e as Error).message).not.toContain("hunter2");
    }
  });
});

describe("migrations", () => {
  test("are ordered by number, not by file name", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookline-mig-"));
    for (const f of ["10_ten.sql", "9_nine.sql", "002_two.sql"]) writeFileSync(join(dir, f), "select 1;");
    expect(readMigrations(dir).map((m) => m.version)).toEqual([2, 9, 10]);
  });
  test("names must be NNN_name.sql and versions unique", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookline-mig-"));
    writeFileSync(join(dir, "1_a.sql"), "");
    writeFileSync(join(dir, "01_b.sql"), "");
    expect(() => readMigrations(dir)).toThrow("share version 1");
  });
});
