// The public dev credentials (README, ops/dev/sources.yaml, ./ops/up) are opt-in and never
// work in production (issue #7 item 4): HOOKLINE_ENV=development turns on the dev defaults;
// unset, the service asks for real values; production refuses the public ones wherever
// they come from.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { readDashboardConfig } from "../../services/dashboard/config.ts";
import { readIngressConfig } from "../../services/ingress/config.ts";
import { readProjectorConfig } from "../../services/projector/config.ts";
import { ConfigError } from "../../shared/config.ts";
import { DEV_CREDENTIALS, DEV_DATABASE_URL, DEV_SOURCES_FILE } from "../../shared/dev-credentials.ts";
import { loadSources, parseSources, SourcesConfigError } from "../../shared/sources/config.ts";

const ROOT = join(import.meta.dir, "..", "..");
const REAL_SOURCES = "/etc/hookline/sources.yaml";
const REAL_TOKENS = "0b1d8e3f2a7c4d6e9f10=admin";
const REAL_DATABASE = "postgres://hookline:9f2c61d0a7b84e3f@db.internal:5432/hookline";
const REAL_WEBHOOK_BASE = "https://hooks.clinic.example";

function configError(read: () => unknown): ConfigError {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("HOOKLINE_ENV unset: no dev defaults", () => {
  test("each service refuses to start without its sources file, tokens and public webhook URL, in one error saying what to set", () => {
    const dashboard = configError(() => readDashboardConfig({}));
    expect(dashboard.problems).toHaveLength(4);
    expect(dashboard.message).toContain("DATABASE_URL is required");
    expect(dashboard.message).toContain("PUBLIC_WEBHOOK_BASE_URL is required");
    expect(dashboard.message).toContain("HOOKLINE_SOURCES is required");
    expect(dashboard.message).toContain("DASHBOARD_API_TOKENS is required");
    expect(dashboard.message).toContain("HOOKLINE_ENV=development");
    expect(dashboard.message).not.toContain(DEV_CREDENTIALS.dashboardAdminToken);
    const ingress = configError(() => readIngressConfig({}));
    expect(ingress.problems).toEqual([expect.stringContaining("HOOKLINE_SOURCES is required")]);
    expect(ingress.message).toContain("HOOKLINE_ENV=development");
    const projector = configError(() => readProjectorConfig({}));
    expect(projector.problems).toEqual([
      expect.stringContaining("DATABASE_URL is required"),
      expect.stringContaining("HOOKLINE_SOURCES is required"),
    ]);
    // The dev database URL carries the dev password: a secret, so not spelled out.
    expect(projector.message).not.toContain(DEV_DATABASE_URL);
  });
  test("with both set, the services start", () => {
    expect(
      readDashboardConfig({
        HOOKLINE_SOURCES: REAL_SOURCES,
        DASHBOARD_API_TOKENS: REAL_TOKENS,
        DATABASE_URL: REAL_DATABASE,
        PUBLIC_WEBHOOK_BASE_URL: REAL_WEBHOOK_BASE,
      }).sourcesFile,
    ).toBe(REAL_SOURCES);
    expect(readIngressConfig({ HOOKLINE_SOURCES: REAL_SOURCES }).sourcesFile).toBe(REAL_SOURCES);
  });
});

describe("HOOKLINE_ENV=development", () => {
  test("the dev sources file and the dev admin token are the defaults", () => {
    const c = readDashboardConfig({ HOOKLINE_ENV: "development" });
    expect(c.sourcesFile).toBe(DEV_SOURCES_FILE);
    expect(c.apiTokens).toBe(`${DEV_CREDENTIALS.dashboardAdminToken}=admin`);
    expect(c.hooklineEnv).toBe("development");
    expect(c.databaseUrl).toBe(DEV_DATABASE_URL);
    expect(readIngressConfig({ HOOKLINE_ENV: "development" }).sourcesFile).toBe(DEV_SOURCES_FILE);
    expect(readProjectorConfig({ HOOKLINE_ENV: "development" }).sourcesFile).toBe(DEV_SOURCES_FILE);
  });
  test("explicit values still win", () => {
    expect(readDashboardConfig({ HOOKLINE_ENV: "development", DASHBOARD_API_TOKENS: REAL_TOKENS }).apiTokens).toBe(
      REAL_TOKENS,
    );
  });
});

describe("HOOKLINE_ENV=production refuses the public dev credentials even when set explicitly", () => {
  test("the dev admin token in DASHBOARD_API_TOKENS, alone or among others; the value is not echoed", () => {
    for (const tokens of [
      `${DEV_CREDENTIALS.dashboardAdminToken}=admin`,
      `${REAL_TOKENS},${DEV_CREDENTIALS.dashboardAdminToken}=viewer`,
    ]) {
      const e = configError(() =>
        readDashboardConfig({
          HOOKLINE_ENV: "production",
          HOOKLINE_SOURCES: REAL_SOURCES,
          DASHBOARD_API_TOKENS: tokens,
          DATABASE_URL: REAL_DATABASE,
          PUBLIC_WEBHOOK_BASE_URL: REAL_WEBHOOK_BASE,
        }),
      );
      expect(e.problems).toEqual([expect.stringContaining("DASHBOARD_API_TOKENS holds a public dev credential")]);
      expect(e.message).not.toContain(DEV_CREDENTIALS.dashboardAdminToken);
    }
  });
  test("no dev defaults in production either", () => {
    expect(configError(() => readDashboardConfig({ HOOKLINE_ENV: "production" })).problems).toHaveLength(4);
  });
  test("real values pass", () => {
    const real = {
      HOOKLINE_ENV: "production",
      HOOKLINE_SOURCES: REAL_SOURCES,
      DASHBOARD_API_TOKENS: REAL_TOKENS,
      DATABASE_URL: REAL_DATABASE,
      PUBLIC_WEBHOOK_BASE_URL: REAL_WEBHOOK_BASE,
    };
    expect(readDashboardConfig(real).hooklineEnv).toBe("production");
  });
  test("a database URL logging in with the dev password, on any host; the URL is not echoed", () => {
    for (const url of [DEV_DATABASE_URL, "postgres://hookline:hookline@db.internal:5432/hookline"]) {
      const e = configError(() =>
        readProjectorConfig({ HOOKLINE_ENV: "production", HOOKLINE_SOURCES: REAL_SOURCES, DATABASE_URL: url }),
      );
      expect(e.problems).toEqual([expect.stringContaining("DATABASE_URL holds a public dev credential")]);
      expect(e.message).not.toContain(url);
    }
  });
  test("the dev sources file is refused (its secrets are inline)", () => {
    expect(() => loadSources(join(ROOT, DEV_SOURCES_FILE), { HOOKLINE_ENV: "production" })).toThrow(
      "inline secrets are not allowed",
    );
  });
  test.each([
    ["heyflow", "{ scheme: token, tokens: [{ env: S }] }", DEV_CREDENTIALS.heyflowToken],
    ["typeform", "{ scheme: typeform, secrets: [{ file: /dev/null }, { env: S }] }", DEV_CREDENTIALS.typeformSecret],
    ["generic", "{ scheme: standard-webhooks, secrets: [{ env: S }] }", DEV_CREDENTIALS.standardWebhooksSecret],
  ])("%s: a dev secret from the environment is refused, by name only", (adapter, auth, secret) => {
    const text = `sources:\n  - id: s1\n    adapter: ${adapter}\n    auth: ${auth}\n`;
    let error: unknown;
    try {
      parseSources(text, { HOOKLINE_ENV: "production", S: secret });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SourcesConfigError);
    const message = (error as Error).message;
    expect(message).toContain("(env S) is a public dev credential");
    expect(message).not.toContain(secret);
    // Outside production the same source starts (local runs, staging with its own file).
    if (!auth.includes("/dev/null")) expect(() => parseSources(text, { S: secret })).not.toThrow();
  });
});

test("HOOKLINE_ENV itself is validated: development, production or unset", () => {
  const e = configError(() => readIngressConfig({ HOOKLINE_ENV: "prod", HOOKLINE_SOURCES: REAL_SOURCES }));
  expect(e.problems).toEqual([expect.stringContaining("HOOKLINE_ENV")]);
  expect(readIngressConfig({ HOOKLINE_SOURCES: REAL_SOURCES }).hooklineEnv).toBeUndefined();
});

test("an unknown role in DASHBOARD_API_TOKENS is one line of the start-up error, the tokens not echoed", () => {
  const e = configError(() =>
    readDashboardConfig({
      HOOKLINE_SOURCES: REAL_SOURCES,
      DASHBOARD_API_TOKENS: `${REAL_TOKENS},s3cr3t-token=superuser`,
      DATABASE_URL: REAL_DATABASE,
      PUBLIC_WEBHOOK_BASE_URL: REAL_WEBHOOK_BASE,
    }),
  );
  expect(e.problems).toEqual([expect.stringContaining("every role must be one of: viewer, editor, admin")]);
  expect(e.message).not.toContain("s3cr3t-token");
});

test("an empty token in DASHBOARD_API_TOKENS is refused (an empty bearer would match it)", () => {
  const e = configError(() =>
    readDashboardConfig({
      HOOKLINE_SOURCES: REAL_SOURCES,
      DASHBOARD_API_TOKENS: `${REAL_TOKENS},=admin`,
      DATABASE_URL: REAL_DATABASE,
      PUBLIC_WEBHOOK_BASE_URL: REAL_WEBHOOK_BASE,
    }),
  );
  expect(e.problems).toEqual([expect.stringContaining("DASHBOARD_API_TOKENS=<redacted>")]);
});

test("the declared dev credentials are exactly the inline secrets of ops/dev/sources.yaml (plus the dashboard token)", () => {
  const file = parseYaml(readFileSync(join(ROOT, DEV_SOURCES_FILE), "utf8")) as {
    sources: { auth: { secrets?: unknown[]; tokens?: unknown[] } }[];
  };
  const inline = new Set(
    file.sources
      .flatMap((s) => [...(s.auth.secrets ?? []), ...(s.auth.tokens ?? [])])
      .filter((x) => typeof x === "string"),
  );
  const { dashboardAdminToken, ...sourceSecrets } = DEV_CREDENTIALS;
  expect([...inline].sort()).toEqual(Object.values(sourceSecrets).sort());
  expect(readFileSync(join(ROOT, "README.md"), "utf8")).toContain(`Bearer ${dashboardAdminToken}`);
});
