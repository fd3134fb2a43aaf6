// Start-up refuses empty, too short or malformed secrets (issue #7 item 3), naming the source
// and which secret (index, env variable, file path), never the value; every problem of the
// file in one error.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSources, SourcesConfigError } from "../../../shared/sources/config.ts";

const dir = mkdtempSync(join(tmpdir(), "hookline-secrets-"));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const sourceYaml = (id: string, adapter: string, auth: string) =>
  `  - id: ${id}\n    adapter: ${adapter}\n    auth: ${auth}\n`;
const one = (auth: string, adapter = "generic") => `sources:\n${sourceYaml("s1", adapter, auth)}`;
const whsec = (bytes: number) => `whsec_${Buffer.alloc(bytes, 7).toString("base64")}`;

/** The SourcesConfigError parseSources throws (fails the test when it does not throw). */
function refusal(text: string, env: Record<string, string | undefined> = {}): SourcesConfigError {
  try {
    parseSources(text, env);
  } catch (error) {
    expect(error).toBeInstanceOf(SourcesConfigError);
    return error as SourcesConfigError;
  }
  throw new Error("expected the sources file to be refused");
}

describe("empty secrets are refused", () => {
  test("a secret file holding only a newline", () => {
    const path = file("newline", "\n");
    const e = refusal(one(`{ scheme: github, secrets: [{ file: ${path} }] }`));
    expect(e.message).toContain("source s1");
    expect(e.message).toContain("auth.secrets[0]");
    expect(e.message).toContain(path);
    expect(e.message).toContain("empty");
  });
  test("an { env } secret of spaces names the variable, not the value", () => {
    const e = refusal(one("{ scheme: github, secrets: [{ env: GH_SECRET }] }"), { GH_SECRET: "    " });
    expect(e.message).toContain("source s1");
    expect(e.message).toContain("GH_SECRET");
    expect(e.message).toContain("empty");
  });
  test("an empty HeyFlow token (Basic auth with an empty password would pass)", () => {
    const e = refusal(
      one('{ scheme: token, basicUser: heyflow, tokens: [{ env: HF }, "dev-heyflow-token"] }', "heyflow"),
      { HF: " " },
    );
    expect(e.message).toContain("auth.tokens[0]");
    expect(e.message).toContain("HF");
  });
  test("an empty inline secret", () => {
    expect(refusal(one('{ scheme: typeform, secrets: [""] }', "typeform")).message).toContain("auth.secrets[0]");
  });
});

describe("secrets too short for their scheme are refused", () => {
  test.each([
    ["github", "{ scheme: github, secrets: [{ env: S }] }", "generic"],
    ["stripe", "{ scheme: stripe, secrets: [{ env: S }] }", "generic"],
    ["typeform", "{ scheme: typeform, secrets: [{ env: S }] }", "typeform"],
    ["token", "{ scheme: token, tokens: [{ env: S }] }", "heyflow"],
  ])("%s: 15 characters refused, 16 accepted", (_scheme, auth, adapter) => {
    const short = "abcdefghijklmno";
    const e = refusal(one(auth, adapter), { S: short });
    expect(e.message).toContain("at least 16");
    expect(e.message).not.toContain(short);
    expect(() => parseSources(one(auth, adapter), { S: `${short}p` })).not.toThrow();
  });
  test("the dev secrets pass (heyflow token 17 characters, typeform secret 19)", () => {
    expect(() => parseSources(one("{ scheme: token, tokens: [dev-heyflow-token] }", "heyflow"), {})).not.toThrow();
    expect(() =>
      parseSources(one("{ scheme: typeform, secrets: [dev-typeform-secret] }", "typeform"), {}),
    ).not.toThrow();
  });
});

describe("Standard Webhooks secrets: whsec_ + strict base64 of 24 to 64 bytes", () => {
  test.each([24, 32, 64])("%i bytes accepted", (bytes) => {
    expect(() => parseSources(one(`{ scheme: standard-webhooks, secrets: ["${whsec(bytes)}"] }`), {})).not.toThrow();
  });
  test.each([
    ["23 bytes", whsec(23), "24"],
    ["65 bytes", whsec(65), "64"],
    ["no whsec_ prefix", whsec(32).slice(6), "whsec_"],
    ["whitespace after the prefix (decoded leniently: a 0-byte key)", "whsec_    ", "whitespace"],
    ["a space inside the base64", `${whsec(32).slice(0, 20)} ${whsec(32).slice(20)}`, "base64"],
    ["junk inside the base64", `${whsec(32).slice(0, 20)}*${whsec(32).slice(20)}`, "base64"],
    ["URL-safe alphabet", `whsec_${Buffer.alloc(32, 251).toString("base64url")}`, "base64"],
    ["unpadded", whsec(32).replace(/=+$/, ""), "base64"],
  ])("%s refused", (_what, secret, hint) => {
    const e = refusal(one("{ scheme: standard-webhooks, secrets: [{ env: SW }] }"), { SW: secret });
    expect(e.message).toContain("source s1");
    expect(e.message).toContain("SW");
    expect(e.message).toContain(hint);
    if (secret.length > 10) expect(e.message).not.toContain(secret.slice(6));
  });
});

describe("malformed for the scheme", () => {
  test("a token with a space or control character can never be presented in a header: refused", () => {
    const e = refusal(one("{ scheme: token, tokens: [{ env: T1 }, { env: T2 }] }", "heyflow"), {
      T1: "token with spaces inside",
      T2: "token\u0001control-chars",
    });
    expect(e.problems).toHaveLength(2);
    expect(e.message).toContain("auth.tokens[0]");
    expect(e.message).toContain("auth.tokens[1]");
    expect(e.message).not.toContain("token with spaces inside");
    expect(e.message).not.toContain("control-chars");
  });
  test("leading or trailing whitespace in an env secret is refused, not silently kept", () => {
    const e = refusal(one("{ scheme: github, secrets: [{ env: S }] }"), { S: " a-secret-with-a-space-in-front" });
    expect(e.message).toContain("whitespace");
    expect(e.message).not.toContain("a-secret-with");
  });
  test("a secret file's trailing newline is trimmed", () => {
    const path = file("ok", "a-long-enough-secret\n");
    const s = parseSources(one(`{ scheme: github, secrets: [{ file: ${path} }] }`), {}).get("s1")!;
    expect(s.auth).toEqual({ scheme: "github", secrets: ["a-long-enough-secret"] });
  });
});

test("every problem of every source in one error, each named, no value echoed", () => {
  const values = { A: "   ", B: "short-secret", C: `whsec_${Buffer.from("too-short").toString("base64")}` };
  const text = `sources:\n${sourceYaml("one", "generic", "{ scheme: github, secrets: [{ env: A }] }")}${sourceYaml("two", "typeform", "{ scheme: typeform, secrets: [{ env: B }] }")}${sourceYaml("three", "generic", "{ scheme: standard-webhooks, secrets: [{ env: C }] }")}${sourceYaml("four", "generic", "{ scheme: github, secrets: [{ env: MISSING }] }")}`;
  const e = refusal(text, values);
  expect(e.code).toBe("invalid_sources_config");
  expect(e.problems).toHaveLength(4);
  for (const id of ["source one", "source two", "source three", "source four"]) expect(e.message).toContain(id);
  for (const name of ["A", "B", "C", "MISSING"]) expect(e.message).toContain(`env ${name}`);
  expect(e.message).not.toContain("short-secret");
  expect(e.message).not.toContain(values.C.slice(6));
});
