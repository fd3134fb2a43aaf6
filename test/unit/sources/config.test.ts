import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSources, parseSources, SourcesConfigError } from "../../../shared/sources/config.ts";

const WHSEC = "whsec_" + Buffer.alloc(32, 1).toString("base64");
const yaml = (auth: string, extra = "") => `sources:\n  - id: s1\n    adapter: generic\n    auth: ${auth}\n${extra}`;

describe("sources config", () => {
  test("defaults are filled in", () => {
    const s = parseSources(yaml(`{ scheme: standard-webhooks, secrets: [${WHSEC}] }`), {}).get("s1")!;
    expect(s).toMatchObject({ phoneRegion: "DE", dateOrder: "DMY", maxBodyBytes: 1_048_576, contentTypes: ["application/json"], forms: {} });
    expect(s.auth).toEqual({ scheme: "standard-webhooks", secrets: [WHSEC], toleranceSeconds: 300 });
  });
  test("secrets from env and file", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookline-"));
    writeFileSync(join(dir, "secret"), "from-file-0123456789\n");
    const s = parseSources(yaml(`{ scheme: github, secrets: [{ env: GH_SECRET }, { file: ${join(dir, "secret")} }] }`), { GH_SECRET: "from-env-0123456789" }).get("s1")!;
    expect(s.auth).toEqual({ scheme: "github", secrets: ["from-env-0123456789", "from-file-0123456789"] });
  });
  test("inline secrets are refused in production, references are not", () => {
    expect(() => parseSources(yaml("{ scheme: github, secrets: [inline-secret] }"), { HOOKLINE_ENV: "production" })).toThrow("inline secrets are not allowed");
    const s = parseSources(yaml("{ scheme: github, secrets: [{ env: GH }] }"), { HOOKLINE_ENV: "production", GH: "x-0123456789abcdef" }).get("s1")!;
    expect(s.auth).toEqual({ scheme: "github", secrets: ["x-0123456789abcdef"] });
  });
  test("missing env var names the variable, not a value", () => {
    expect(() => parseSources(yaml("{ scheme: github, secrets: [{ env: NOPE }] }"), {})).toThrow("auth.secrets[0] (env NOPE) is not set");
  });
  test("missing secret file", () => {
    expect(() => parseSources(yaml("{ scheme: github, secrets: [{ file: /nonexistent/x }] }"), {})).toThrow(SourcesConfigError);
  });
  test("more than two secrets is refused (rotation is current + next)", () => {
    expect(() => parseSources(yaml("{ scheme: github, secrets: [a, b, c] }"), {})).toThrow("at most two secrets");
  });
  test("unknown scheme, unknown adapter, bad id, bad canonical field, duplicate ids", () => {
    expect(() => parseSources(yaml("{ scheme: magic, secrets: [a] }"), {})).toThrow(SourcesConfigError);
    expect(() => parseSources("sources:\n  - { id: s1, adapter: nope, auth: { scheme: github, secrets: [a] } }", {})).toThrow(SourcesConfigError);
    expect(() => parseSources("sources:\n  - { id: Bad_Id, adapter: generic, auth: { scheme: github, secrets: [a] } }", {})).toThrow("lower-case");
    expect(() => parseSources(yaml("{ scheme: github, secrets: [a] }", "    forms: { f: { fields: { Q1: shoeSize } } }\n"), {})).toThrow(SourcesConfigError);
    const dup = "sources:\n  - { id: s1, adapter: generic, auth: { scheme: github, secrets: [a] } }\n  - { id: s1, adapter: generic, auth: { scheme: github, secrets: [a] } }";
    expect(() => parseSources(dup, {})).toThrow("duplicate source id");
  });
  test("token and stripe headers are lower-cased; JSON files work too", () => {
    const s = parseSources(JSON.stringify({ sources: [{ id: "h", adapter: "heyflow", auth: { scheme: "token", tokens: ["t-0123456789abcdef"], header: "X-Token" } }] }), {}).get("h")!;
    expect(s.auth).toMatchObject({ scheme: "token", header: "x-token" });
    expect(s.contentTypes).toContain("application/x-www-form-urlencoded");
  });
  test("the dev sources file parses", () => {
    const sources = loadSources(join(import.meta.dir, "../../../ops/dev/sources.yaml"), {});
    expect([...sources.keys()].sort()).toEqual(["generic", "google-forms", "heyflow", "typeform"]);
  });
  test("unreadable sources file", () => {
    expect(() => loadSources("/nonexistent/sources.yaml", {})).toThrow("cannot read sources file");
  });
});
