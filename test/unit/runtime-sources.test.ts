// The pure parts of sources created at runtime: names, secrets, setup steps, the config each
// type gets and which secrets are live during a rotation's overlap.
import { describe, expect, test } from "bun:test";
import { sourceNameFor } from "../../services/dashboard/clients.ts";
import { newSecret, setupSteps, webhookUrl } from "../../services/dashboard/sources.ts";
import { secretProblem } from "../../shared/crypto/secret-rules.ts";
import { signStandardWebhook } from "../../shared/crypto/standard-webhooks.ts";
import { getAdapter } from "../../shared/sources/registry.ts";
import {
  liveSecrets,
  openSecrets,
  RUNTIME_MAX_BODY_BYTES,
  RUNTIME_SOURCE_TYPES,
  runtimeSourceConfig,
  runtimeSourcesKeyring,
  sealSecrets,
  serverBodyCap,
  sourceDisabled,
} from "../../shared/sources/runtime.ts";
import { TEST_KEYS } from "../keys.ts";

describe("source names from a client's name", () => {
  test("lower-case ASCII with dashes, the type last, a number when taken", () => {
    expect(sourceNameFor("Praxis Müller", "typeform")).toBe("praxis-muller-typeform");
    expect(sourceNameFor("  Zahnärzte Straße & Co. ", "heyflow")).toBe("zahnarzte-strasse-co-heyflow");
    expect(sourceNameFor("Praxis Müller", "typeform", 2)).toBe("praxis-muller-typeform-2");
    expect(sourceNameFor("東京クリニック", "generic")).toBe("client-generic");
  });

  test("never longer than a source id may be (63), whatever the name", () => {
    const name = sourceNameFor("a".repeat(300), "google-forms", 42);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9][a-z0-9-]{0,62}$/);
    expect(name.endsWith("-google-forms-42")).toBe(true);
  });
});

describe("secrets", () => {
  test("each type's new secret passes the checks the sources file applies, and differs each time", () => {
    const schemes = {
      heyflow: "token",
      typeform: "typeform",
      "google-forms": "standard-webhooks",
      generic: "standard-webhooks",
    } as const;
    for (const type of RUNTIME_SOURCE_TYPES) {
      const secret = newSecret(type);
      expect(secretProblem(schemes[type], secret)).toBeUndefined();
      expect(newSecret(type)).not.toBe(secret);
    }
    // A Standard Webhooks secret signs.
    expect(() => signStandardWebhook(newSecret("generic"), "msg_1", 1, "{}")).not.toThrow();
  });

  test("sealed with the data keyring (not in clear), opened back", () => {
    const secrets = [{ value: "s1-0123456789abcdef", expiresAt: null }];
    const sealed = sealSecrets(TEST_KEYS.data, secrets);
    expect(sealed.toString("latin1")).not.toContain("s1-0123456789abcdef");
    expect(openSecrets(TEST_KEYS.data, sealed)).toEqual(secrets);
  });

  test("a rotated-out secret is live until its overlap ends, the current one always", () => {
    const now = Date.parse("2026-11-29T12:00:00Z");
    const secrets = [
      { value: "new", expiresAt: null },
      { value: "old", expiresAt: "2026-11-30T12:00:00Z" },
    ];
    expect(liveSecrets(secrets, now)).toEqual(["new", "old"]);
    expect(liveSecrets(secrets, Date.parse("2026-11-30T12:00:00Z"))).toEqual(["new"]);
  });
});

describe("a runtime source's config", () => {
  const record = (type: (typeof RUNTIME_SOURCE_TYPES)[number], enabled = true) => ({
    name: `c-${type}`,
    type,
    clientId: "7",
    enabled,
  });

  test("each type authenticates the way its adapter supports, with the live secrets", () => {
    for (const type of RUNTIME_SOURCE_TYPES) {
      const config = runtimeSourceConfig(record(type), [{ value: "s", expiresAt: null }]);
      expect(getAdapter(type).authSchemes).toContain(config.auth.scheme);
      expect(config.contentTypes).toEqual([...getAdapter(type).contentTypes]);
      expect(config).toMatchObject({ id: `c-${type}`, adapter: type, clientId: "7", allowedIps: [], forms: {} });
    }
    const heyflow = runtimeSourceConfig(record("heyflow"), [{ value: "t", expiresAt: null }]);
    expect(heyflow.auth).toEqual({ scheme: "token", tokens: ["t"], header: "x-webhook-token" });
  });

  test("a disabled source is marked so (the ingress refuses it); a file source never is", () => {
    expect(sourceDisabled(runtimeSourceConfig(record("generic", false), []))).toBe(true);
    expect(sourceDisabled(runtimeSourceConfig(record("generic"), []))).toBe(false);
    const { clientId: _c, enabled: _e, ...fileLike } = runtimeSourceConfig(record("generic"), []);
    expect(sourceDisabled(fileLike)).toBe(false);
  });
});

describe("what the Add New Client modal shows", () => {
  test("the webhook URL under the public base, and setup steps that name it for every tool", () => {
    expect(webhookUrl("https://hooks.example.com/", "praxis-typeform")).toBe(
      "https://hooks.example.com/v1/webhooks/praxis-typeform",
    );
    for (const type of RUNTIME_SOURCE_TYPES) {
      const steps = setupSteps(type, "https://h.example/v1/webhooks/x");
      expect(steps.length).toBeGreaterThanOrEqual(3);
      expect(steps.join("\n")).toContain("https://h.example/v1/webhooks/x");
    }
  });
});

describe("the ingress's keyring for runtime sources", () => {
  test("HOOKLINE_KEYS given: read (a bad one is an error); not given outside development: none, file sources only", () => {
    const text = TEST_KEYS.data.keys
      .map((k) => `${k.id}:${k.key.toString("base64")}:${k.createdAt.toISOString()}`)
      .join(",");
    expect(runtimeSourcesKeyring({ hooklineEnv: "production", dataKeys: text, dataKeysFile: "" })?.current.id).toBe(
      TEST_KEYS.data.current.id,
    );
    expect(runtimeSourcesKeyring({ hooklineEnv: "production", dataKeys: "", dataKeysFile: "" })).toBeUndefined();
    expect(() => runtimeSourcesKeyring({ hooklineEnv: "production", dataKeys: "nonsense", dataKeysFile: "" })).toThrow(
      /HOOKLINE_KEYS/,
    );
  });
});

test("Bun's body cap for a service is four times its largest source limit, runtime sources' included when on", () => {
  const sources = [{ maxBodyBytes: 256 * 1024 }, { maxBodyBytes: 2 * 1024 * 1024 }];
  expect(serverBodyCap(sources, false)).toBe(8 * 1024 * 1024);
  // Runtime sources take the sources file's default limit (1 MiB), above the file's small one here.
  expect(serverBodyCap([{ maxBodyBytes: 1024 }], true)).toBe(4 * RUNTIME_MAX_BODY_BYTES);
  expect(serverBodyCap([{ maxBodyBytes: 1024 }], false)).toBe(4 * 1024);
  // No sources at all (a dashboard of runtime sources only): still bounded.
  expect(serverBodyCap([], true)).toBe(4 * RUNTIME_MAX_BODY_BYTES);
});
