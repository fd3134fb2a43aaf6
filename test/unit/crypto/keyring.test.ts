// Keyrings from their text forms (shared/crypto/keyring.ts): both forms, the file variant,
// and errors that name the source but never a key.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyringConfig, readConfig } from "../../../shared/config.ts";
import { KeyringError, keyAgeDays, loadKeyring, newKeyText, parseKeyring } from "../../../shared/crypto/keyring.ts";
import { loadKeys } from "../../../shared/crypto/keys.ts";

const B64 = Buffer.alloc(32, 1).toString("base64");
const B64b = Buffer.alloc(32, 2).toString("base64");
const dir = mkdtempSync(join(tmpdir(), "hookline-keyring-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const error = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KeyringError);
    expect((e as Error).message).not.toContain(B64);
    return (e as Error).message;
  }
  throw new Error("did not throw");
};

describe("parseKeyring", () => {
  test("compact form, newest first; times may carry colons", () => {
    const ring = parseKeyring(`k2:${B64b}:2026-11-01T10:00:00Z, k1:${B64}:2026-08-01`, "HOOKLINE_KEYS");
    expect(ring.current.id).toBe("k2");
    expect(ring.current.createdAt.toISOString()).toBe("2026-11-01T10:00:00.000Z");
    expect(ring.keys.map((k) => k.id)).toEqual(["k2", "k1"]);
    expect(ring.get("k1")!.key.equals(Buffer.alloc(32, 1))).toBe(true);
    expect(ring.get("k3")).toBeUndefined();
  });

  test("JSON form and newline-separated compact form", () => {
    const json = parseKeyring(
      JSON.stringify([
        { id: "a", key: B64, createdAt: "2026-01-01" },
        { id: "b", key: B64b, createdAt: "2025-01-01" },
      ]),
      "X",
    );
    expect(json.current.id).toBe("a");
    expect(parseKeyring(`a:${B64}:2026-01-01\nb:${B64b}:2025-01-01\n`, "X").keys).toHaveLength(2);
  });

  test("refuses bad ids, keys that are not 32 bytes, missing dates, duplicates; never quoting a key", () => {
    expect(error(() => parseKeyring("", "HOOKLINE_KEYS"))).toContain("HOOKLINE_KEYS is empty");
    expect(error(() => parseKeyring(`bad id:${B64}:2026-01-01`, "V"))).toContain("V: key 1");
    expect(error(() => parseKeyring(`k:${B64.slice(4)}:2026-01-01`, "V"))).toContain("32 bytes");
    expect(error(() => parseKeyring(`k:${B64}:soon`, "V"))).toContain("creation date");
    expect(error(() => parseKeyring(`k:${B64}:2026-01-01,k:${B64b}:2026-01-01`, "V"))).toContain("twice");
    expect(error(() => parseKeyring(`a:${B64}:2026-01-01,b:${B64}:2026-01-01`, "V"))).toContain("repeats");
    expect(error(() => parseKeyring(`[{"id":"a","key":"${B64}"`, "V"))).toContain("not valid JSON");
    expect(error(() => parseKeyring(`k${B64}`, "V"))).toContain("not id:base64key:createdAt");
  });
});

const file = join(dir, "keys");
writeFileSync(file, `${newKeyText("f1", new Date("2026-01-01"))}\n`);

describe("loadKeyring", () => {
  test("inline, from a file (a mounted Secret), or the dev file when neither is set", () => {
    expect(loadKeyring({ variable: "K", inline: `i:${B64}:2026-01-01`, file: "" }).current.id).toBe("i");
    expect(loadKeyring({ variable: "K", inline: "", file }).current.id).toBe("f1");
    expect(loadKeyring({ variable: "K", inline: "", file: "", devFile: file }).current.id).toBe("f1");
  });

  test("both, neither, or an unreadable file: errors name the variable or path", () => {
    expect(error(() => loadKeyring({ variable: "K", inline: `i:${B64}:2026-01-01`, file }))).toContain(
      "K or K_FILE, not both",
    );
    expect(error(() => loadKeyring({ variable: "K", inline: "", file: "" }))).toContain("K or K_FILE is required");
    expect(error(() => loadKeyring({ variable: "K", inline: "", file: join(dir, "none") }))).toContain("K_FILE (");
    expect(error(() => loadKeyring({ variable: "K", inline: "", file: "", devFile: join(dir, "none") }))).toContain(
      "./ops/up generates it",
    );
  });

  test("key age in whole days", () => {
    const ring = loadKeyring({ variable: "K", inline: "", file });
    expect(keyAgeDays(ring.current, new Date("2026-04-01T12:00:00Z"))).toBe(90);
  });
});

describe("loadKeys (both keyrings, as the services read them)", () => {
  const settings = (over: Record<string, string | undefined>) => ({
    hooklineEnv: undefined,
    dataKeys: `d1:${B64}:2026-01-01`,
    dataKeysFile: "",
    blindIndexKeys: `i1:${B64b}:2026-01-01`,
    blindIndexKeysFile: "",
    ...over,
  });
  const problems = (over: Record<string, string | undefined>) => {
    try {
      loadKeys(settings(over) as never);
    } catch (e) {
      expect((e as Error).message).not.toContain(B64);
      return (e as { problems: string[] }).problems;
    }
    return [];
  };

  test("read from the environment as the services do (the values never echoed)", () => {
    const env = { HOOKLINE_KEYS: `d1:${B64}:2026-01-01`, HOOKLINE_BLIND_INDEX_KEY_FILE: file };
    const keys = loadKeys({ hooklineEnv: undefined, ...readConfig(keyringConfig, env) });
    expect([keys.data.current.id, keys.blindIndex.current.id]).toEqual(["d1", "f1"]);
  });

  test("both given: loaded", () => {
    const keys = loadKeys(settings({}) as never);
    expect([keys.data.current.id, keys.blindIndex.current.id]).toEqual(["d1", "i1"]);
  });

  test("each missing one is named, both at once", () => {
    expect(problems({ dataKeys: "", blindIndexKeys: "" })).toEqual([
      expect.stringContaining("HOOKLINE_KEYS or HOOKLINE_KEYS_FILE is required"),
      expect.stringContaining("HOOKLINE_BLIND_INDEX_KEY or HOOKLINE_BLIND_INDEX_KEY_FILE is required"),
    ]);
  });

  test("a blind-index key that is also a data key is refused", () => {
    expect(problems({ blindIndexKeys: `i1:${B64}:2026-01-01` })).toEqual([expect.stringContaining("also a data key")]);
  });

  test("production refuses dev keys (ids dev-...) that ./ops/up generates", () => {
    expect(problems({ hooklineEnv: "production", dataKeys: `dev-1:${B64}:2026-01-01` })).toEqual([
      expect.stringContaining('key "dev-1" is a dev key'),
    ]);
    expect(problems({ hooklineEnv: "development", dataKeys: `dev-1:${B64}:2026-01-01` })).toEqual([]);
  });
});
