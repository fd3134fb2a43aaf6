// The README's chart values table is generated (ops/chart-values-doc); these tests fail when
// the README's block is stale and pin the helm-docs comment convention it parses.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  chartValuesTable,
  descriptionOf,
  README,
  replaceValuesBlock,
  VALUES_END,
  VALUES_START,
  valueRows,
  valuesTable,
} from "../../ops/chart-values-doc.ts";

test("README's values table is the one generated from helm/hookline/values.yaml (run ops/chart-values-doc --write)", () => {
  const readme = readFileSync(README, "utf8");
  const a = readme.indexOf(VALUES_START);
  const b = readme.indexOf(VALUES_END);
  expect(a).toBeGreaterThan(-1);
  expect(b).toBeGreaterThan(a);
  expect(readme.slice(a + VALUES_START.length, b).trim()).toBe(chartValuesTable());
});

const FIXTURE = `# File header, not a description.

# -- Name override.
nameOverride: ""
image:
  # -- The image's repository,
  # continued on a second line.
  repository: example/app
  pullPolicy: IfNotPresent
# Example lines of the key above:
# - id: heyflow

# -- Limits (empty: defaults).
stream:
  # -- Replicas of the stream.
  replicas: null
  maxBytes: 1.5
# -- Requests of the pod | CPU and memory.
resources:
  requests: { cpu: 250m, memory: 128Mi }
  limits:
    memory: 256Mi
sources: []
labels: {}
`;

const SCHEMA = {
  definitions: { replicas: { type: ["integer", "null"] } },
  properties: { stream: { properties: { replicas: { $ref: "#/definitions/replicas" } } } },
};

describe("comment parsing (helm-docs convention)", () => {
  test("a description starts at the last `--` line and runs to the key", () => {
    expect(descriptionOf(" header\n\n -- First line,\n second line.")).toBe("First line, second line.");
    expect(descriptionOf(" - id: example\n\n -- Real one.")).toBe("Real one.");
    expect(descriptionOf(" a comment without the mark")).toBeNull();
    expect(descriptionOf(undefined)).toBeNull();
  });

  test("rows: leaves and documented maps, descriptions from the comment above, types and JSON defaults", () => {
    expect(valueRows(FIXTURE, SCHEMA)).toEqual([
      { key: "nameOverride", type: "string", default: '""', description: "Name override." },
      {
        key: "image.repository",
        type: "string",
        default: '"example/app"',
        description: "The image's repository, continued on a second line.",
      },
      { key: "image.pullPolicy", type: "string", default: '"IfNotPresent"', description: "" },
      { key: "stream", type: "object", default: "", description: "Limits (empty: defaults)." },
      { key: "stream.replicas", type: "int", default: "null", description: "Replicas of the stream." },
      { key: "stream.maxBytes", type: "float", default: "1.5", description: "" },
      { key: "resources", type: "object", default: "", description: "Requests of the pod | CPU and memory." },
      {
        key: "resources.requests",
        type: "object",
        default: '{"cpu":"250m","memory":"128Mi"}',
        description: "",
      },
      { key: "resources.limits.memory", type: "string", default: '"256Mi"', description: "" },
      { key: "sources", type: "list", default: "[]", description: "" },
      { key: "labels", type: "object", default: "{}", description: "" },
    ]);
  });

  test("a `# --` comment that documents no key is refused, not dropped", () => {
    expect(() => valueRows("a:\n  b: 1\n  # -- Orphan after the map's last key.\n")).toThrow(/"# --" comments/);
  });

  test("the table escapes pipes and HTML outside code spans", () => {
    const table = valuesTable([
      { key: "k", type: "string", default: '"a|b"', description: "x | y, <release>, `<kept>`" },
    ]);
    expect(table.split("\n")).toEqual([
      "| Key | Type   | Default  | Description |",
      "| --- | ------ | -------- | ----------- |",
      '| `k` | string | `"a\\|b"` | x \\| y, &lt;release>, `<kept>` |',
    ]);
  });

  test("the block between the markers is replaced; missing markers are an error", () => {
    const text = `# T\n\n${VALUES_START}\nold\n${VALUES_END}\nafter\n`;
    expect(replaceValuesBlock(text, "new")).toBe(`# T\n\n${VALUES_START}\nnew\n${VALUES_END}\nafter\n`);
    expect(() => replaceValuesBlock("# T\n", "new")).toThrow(/markers/);
  });
});
