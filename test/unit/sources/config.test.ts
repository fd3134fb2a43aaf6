import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CANONICAL_FIELDS } from "../../../shared/patient-fields.ts";
import { loadSources, parseSources, SourcesConfigError } from "../../../shared/sources/config.ts";

const WHSEC = `whsec_${Buffer.alloc(32, 1).toString("base64")}`;
const yaml = (auth: string, extra = "") => `sources:\n  - id: s1\n    adapter: generic\n    auth: ${auth}\n${extra}`;

describe("sources config", () => {
  test("defaults are filled in", () => {
    const s = parseSources(yaml(`{ scheme: standard-webhooks, secrets: [${WHSEC}] }`), {}).get("s1")!;
    expect(s).toMatchObject({
      phoneRegion: "DE",
      dateOrder: "DMY",
      maxBodyBytes: 1_048_576,
      contentTypes: ["application/json"],
      forms: {},
    });
    expect(s.auth).toEqual({ scheme: "standard-webhooks", secrets: [WHSEC], toleranceSeconds: 300 });
  });
  test("secrets from env and file", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookline-"));
    writeFileSync(join(dir, "secret"), "from-file-0123456789\n");
    const s = parseSources(
      yaml(`{ scheme: github, secrets: [{ env: GH_SECRET }, { file: ${join(dir, "secret")} }] }`),
      { GH_SECRET: "from-env-0123456789" },
    ).get("s1")!;
    expect(s.auth).toEqual({ scheme: "github", secrets: ["from-env-0123456789", "from-file-0123456789"] });
  });
  test("inline secrets are refused in production, references are not", () => {
    expect(() =>
      parseSources(yaml("{ scheme: github, secrets: [inline-secret] }"), { HOOKLINE_ENV: "production" }),
    ).toThrow("inline secrets are not allowed");
    const s = parseSources(yaml("{ scheme: github, secrets: [{ env: GH }] }"), {
      HOOKLINE_ENV: "production",
      GH: "x-0123456789abcdef",
    }).get("s1")!;
    expect(s.auth).toEqual({ scheme: "github", secrets: ["x-0123456789abcdef"] });
  });
  test("each source type declares what it accepts: a scheme its adapter cannot verify stops start-up, naming the source", () => {
    const file = `sources:
  - { id: tf, adapter: typeform, auth: { scheme: token, tokens: [tok-0123456789abcdef] } }
  - { id: hf, adapter: heyflow, auth: { scheme: github, secrets: [gh-0123456789abcdef] } }
  - { id: ok, adapter: heyflow, auth: { scheme: token, tokens: [tok-0123456789abcdef] } }
`;
    let error: SourcesConfigError | undefined;
    try {
      parseSources(file, {});
    } catch (e) {
      error = e as SourcesConfigError;
    }
    expect(error?.problems).toEqual([
      "source tf: auth scheme token is not supported by the typeform adapter (use standard-webhooks or typeform or github or stripe)",
      "source hf: auth scheme github is not supported by the heyflow adapter (use token)",
    ]);
    expect(error?.message).not.toContain("0123456789abcdef");
  });
  test("an unknown adapter lists the known ones; content types default to the adapter's", () => {
    expect(() =>
      parseSources(
        "sources:\n  - { id: x, adapter: jotform, auth: { scheme: github, secrets: [gh-0123456789abcdef] } }\n",
        {},
      ),
    ).toThrow("adapter must be one of: heyflow, typeform, google-forms, generic");
    const hf = parseSources(
      "sources:\n  - { id: x, adapter: heyflow, auth: { scheme: token, tokens: [tok-0123456789abcdef] } }\n",
      {},
    ).get("x")!;
    expect(hf.contentTypes).toEqual(["application/json", "application/x-www-form-urlencoded"]);
  });
  test("missing env var names the variable, not a value", () => {
    expect(() => parseSources(yaml("{ scheme: github, secrets: [{ env: NOPE }] }"), {})).toThrow(
      "auth.secrets[0] (env NOPE) is not set",
    );
  });
  test("missing secret file", () => {
    expect(() => parseSources(yaml("{ scheme: github, secrets: [{ file: /nonexistent/x }] }"), {})).toThrow(
      SourcesConfigError,
    );
  });
  test("more than two secrets is refused (rotation is current + next)", () => {
    expect(() => parseSources(yaml("{ scheme: github, secrets: [a, b, c] }"), {})).toThrow("at most two secrets");
  });
  test("a signature's timestamp tolerance is whole seconds from 1 to 3600 (infinite: no replay window; 0 or less: every delivery refused)", () => {
    for (const scheme of [`standard-webhooks, secrets: ["${WHSEC}"]`, "stripe, secrets: [aaaaaaaaaaaaaaaa]"]) {
      for (const bad of [".inf", "-5", "0", "1.5", "86400"])
        expect(() => parseSources(yaml(`{ scheme: ${scheme}, toleranceSeconds: ${bad} }`), {})).toThrow(
          "toleranceSeconds",
        );
      const ok = parseSources(yaml(`{ scheme: ${scheme}, toleranceSeconds: 600 }`), {});
      expect((ok.get("s1")!.auth as { toleranceSeconds: number }).toleranceSeconds).toBe(600);
    }
  });
  test("unknown scheme, unknown adapter, bad id, bad canonical field, duplicate ids", () => {
    expect(() => parseSources(yaml("{ scheme: magic, secrets: [a] }"), {})).toThrow(SourcesConfigError);
    expect(() =>
      parseSources("sources:\n  - { id: s1, adapter: nope, auth: { scheme: github, secrets: [a] } }", {}),
    ).toThrow(SourcesConfigError);
    expect(() =>
      parseSources("sources:\n  - { id: Bad_Id, adapter: generic, auth: { scheme: github, secrets: [a] } }", {}),
    ).toThrow("lower-case");
    expect(() =>
      parseSources(yaml("{ scheme: github, secrets: [a] }", "    forms: { f: { fields: { Q1: shoeSize } } }\n"), {}),
    ).toThrow(SourcesConfigError);
    const dup =
      "sources:\n  - { id: s1, adapter: generic, auth: { scheme: github, secrets: [a] } }\n  - { id: s1, adapter: generic, auth: { scheme: github, secrets: [a] } }";
    expect(() => parseSources(dup, {})).toThrow("duplicate source id");
  });
  test("token and stripe headers are lower-cased; JSON files work too", () => {
    const s = parseSources(
      JSON.stringify({
        sources: [
          { id: "h", adapter: "heyflow", auth: { scheme: "token", tokens: ["t-0123456789abcdef"], header: "X-Token" } },
        ],
      }),
      {},
    ).get("h")!;
    expect(s.auth).toMatchObject({ scheme: "token", header: "x-token" });
    expect(s.contentTypes).toContain("application/x-www-form-urlencoded");
  });
  test("every canonical field (from shared/patient-fields.ts) is a mapping target", () => {
    const fields = Object.fromEntries(CANONICAL_FIELDS.map((f) => [`q-${f}`, f]));
    const text = JSON.stringify({
      sources: [
        {
          id: "s1",
          adapter: "generic",
          auth: { scheme: "github", secrets: ["gh-0123456789abcdef"] },
          forms: { f: { fields } },
        },
      ],
    });
    expect(parseSources(text, {}).get("s1")!.forms.f!.fields).toEqual(fields);
  });
  test("the dev sources file parses", () => {
    const sources = loadSources(join(import.meta.dir, "../../../ops/dev/sources.yaml"), {});
    expect([...sources.keys()].sort()).toEqual(["generic", "google-forms", "heyflow", "typeform"]);
  });
  test("unreadable sources file", () => {
    expect(() => loadSources("/nonexistent/sources.yaml", {})).toThrow("cannot read sources file");
  });
});

// Issue #7 item 9: a broken sources file must not put its content (secrets) in the start-up
// error; the error names line/column or the path within the file instead.
describe("errors never quote the sources file", () => {
  const SECRET = "s3cr3t-0123456789-abcdef";
  const message = (text: string) => {
    try {
      parseSources(text, {});
    } catch (error) {
      expect(error).toBeInstanceOf(SourcesConfigError);
      return (error as Error).message;
    }
    throw new Error("expected a SourcesConfigError");
  };
  test("a YAML syntax error on the secret's line: line and column, not the line", () => {
    const m = message(
      `sources:\n  - id: s1\n    adapter: typeform\n    auth: { scheme: typeform, secrets: ["${SECRET}" }\n`,
    );
    expect(m).not.toContain(SECRET);
    expect(m).toContain("line 4, column");
  });
  test("a JSON syntax error next to the secret", () => {
    const m = message(
      `{"sources":[{"id":"s1","adapter":"typeform","auth":{"scheme":"typeform","secrets":[${SECRET}]}}]}`,
    );
    expect(m).not.toContain(SECRET);
    expect(m).toContain("JSON");
  });
  test("a wrong-typed inline secret (a number) names its path, not its value", () => {
    const m = message(
      "sources:\n  - id: s1\n    adapter: heyflow\n    auth: { scheme: token, tokens: [98765432109876543] }\n",
    );
    expect(m).not.toContain("98765432109876543");
    expect(m).not.toContain("98765432109876540"); // as a float prints it
    expect(m).toContain("sources.0.auth.tokens.0");
  });
  test("a secret pasted into the wrong key (adapter, scheme) is not echoed either", () => {
    expect(
      message(`sources:\n  - id: s1\n    adapter: ${SECRET}\n    auth: { scheme: github, secrets: [{ env: X }] }\n`),
    ).not.toContain(SECRET);
    expect(
      message(`sources:\n  - id: s1\n    adapter: generic\n    auth: { scheme: ${SECRET}, secrets: [{ env: X }] }\n`),
    ).not.toContain(SECRET);
    expect(
      message(
        `sources:\n  - id: s1\n    adapter: generic\n    maxBodyBytes: ${SECRET}\n    auth: { scheme: github, secrets: [{ env: X }] }\n`,
      ),
    ).not.toContain(SECRET);
  });
});
