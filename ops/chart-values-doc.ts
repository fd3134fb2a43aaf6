#!/usr/bin/env bun
// The README's chart values table, generated from helm/hookline/values.yaml so that it cannot
// drift from the chart: `ops/chart-values-doc` prints it, `--write` replaces the README block
// between VALUES_START and VALUES_END (test/unit/chart-values-doc.test.ts fails when they differ).
//
// Descriptions follow the helm-docs convention the values file uses: a comment block whose
// line starts with `# --` documents the key right below it; the comment lines after it (up to
// the key) continue the description; comment lines before it (examples, file headers) are not
// part of it. Every leaf gets a row (a scalar, a list, an empty or flow-style map such as
// `{ cpu: 250m, memory: 128Mi }`); a block map gets a row of its own only when it is documented,
// and its keys get theirs. The type of a `null` default comes from values.schema.json.
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { isMap, isPair, isScalar, isSeq, type Node, parseDocument, type YAMLMap } from "yaml";

export interface ValueRow {
  key: string;
  type: string;
  /** The default as compact JSON; empty for a documented block map (its keys have rows). */
  default: string;
  description: string;
}

export const VALUES_START = "<!-- values:start -->";
export const VALUES_END = "<!-- values:end -->";

const DOC_MARK = /^\s*--(\s|$)/;

/** The description a comment block holds: from its last `--` line on, joined; null without one. */
export function descriptionOf(comment: string | null | undefined): string | null {
  if (!comment) return null;
  const lines = comment.split("\n");
  const start = lines.findLastIndex((l) => DOC_MARK.test(l));
  if (start < 0) return null;
  return lines
    .slice(start)
    .map((l, i) => (i === 0 ? l.replace(DOC_MARK, "") : l).trim())
    .filter((l) => l !== "")
    .join(" ");
}

const SCHEMA_TYPES: Record<string, string> = {
  string: "string",
  integer: "int",
  number: "float",
  boolean: "bool",
  array: "list",
  object: "object",
};

/** The non-null type(s) the schema declares at `path`, for a key whose default is null. */
function schemaType(schema: unknown, path: string[]): string | null {
  type S = { $ref?: string; type?: string | string[]; properties?: Record<string, S> };
  const root = schema as S & { definitions?: Record<string, S> };
  const deref = (s: S | undefined): S | undefined =>
    s?.$ref?.startsWith("#/definitions/") ? root.definitions?.[s.$ref.slice("#/definitions/".length)] : s;
  let node: S | undefined = root;
  for (const key of path) node = deref(deref(node)?.properties?.[key]);
  const types = [node?.type ?? []].flat().filter((t) => t !== "null");
  return types.length > 0 ? types.map((t) => SCHEMA_TYPES[t] ?? t).join(" or ") : null;
}

function typeOf(node: Node | null, schema: unknown, path: string[]): string {
  if (isSeq(node)) return "list";
  if (isMap(node)) return "object";
  const v = isScalar(node) ? node.value : null;
  if (v === null || v === undefined) return schemaType(schema, path) ?? "null";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "boolean") return "bool";
  return "string";
}

/** One row per documented or leaf key of a values file, in file order. */
export function valueRows(valuesYaml: string, schema: unknown = {}): ValueRow[] {
  const doc = parseDocument(valuesYaml);
  if (doc.errors.length > 0) throw new Error(`values.yaml does not parse: ${doc.errors[0]!.message}`);
  const rows: ValueRow[] = [];
  let documented = 0;
  const visit = (map: YAMLMap, path: string[]) => {
    map.items.forEach((pair, i) => {
      if (!isPair(pair) || !isScalar(pair.key)) return;
      const key = [...path, String(pair.key.value)];
      // The yaml parser hangs the comment above a block map's first key on the map itself.
      const comment = [i === 0 ? map.commentBefore : null, pair.key.commentBefore].filter(Boolean).join("\n");
      const description = descriptionOf(comment);
      if (description !== null) documented++;
      const value = (pair.value ?? null) as Node | null;
      const block = isMap(value) && !value.flow && value.items.length > 0;
      if (!block || description !== null) {
        rows.push({
          key: key.join("."),
          type: typeOf(value, schema, key),
          default: block ? "" : JSON.stringify(value === null ? null : value.toJSON()),
          description: description ?? "",
        });
      }
      if (block) visit(value, key);
    });
  };
  if (isMap(doc.contents)) visit(doc.contents, []);
  // A `# --` comment the parser attached elsewhere (e.g. after a map's last key) would
  // vanish from the table without a trace: refuse instead.
  const marks = valuesYaml.split("\n").filter((l) => /^\s*#\s*--(\s|$)/.test(l)).length;
  if (marks !== documented)
    throw new Error(
      `values.yaml has ${marks} "# --" comments but only ${documented} document a key: put each one right above its key`,
    );
  return rows;
}

// A `|` would end the cell; outside code spans a `<` would open an HTML tag (`<release>`).
const cell = (s: string) =>
  s
    .replaceAll("|", "\\|")
    .split("`")
    .map((part, i) => (i % 2 === 0 ? part.replaceAll("<", "&lt;") : part))
    .join("`");

/** A Markdown table; every column but the last (descriptions) padded to its widest cell. */
export function valuesTable(rows: ValueRow[]): string {
  const body = rows.map((r) => [
    `\`${r.key}\``,
    r.type,
    r.default === "" ? "" : `\`${cell(r.default)}\``,
    cell(r.description),
  ]);
  const head = ["Key", "Type", "Default", "Description"];
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((r) => r[c]!.length)));
  const last = head.length - 1;
  const line = (cells: string[]) =>
    `| ${cells.map((s, c) => (c === last ? s : s.padEnd(widths[c]!))).join(" | ")} |`.replace(/ +\|$/, " |");
  return [line(head), line(head.map((h, c) => "-".repeat(c === last ? h.length : widths[c]!))), ...body.map(line)].join(
    "\n",
  );
}

/** `text` with the block between the markers replaced by `table`; throws without the markers. */
export function replaceValuesBlock(text: string, table: string): string {
  const a = text.indexOf(VALUES_START);
  const b = text.indexOf(VALUES_END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${VALUES_START} … ${VALUES_END} markers`);
  return `${text.slice(0, a + VALUES_START.length)}\n${table}\n${text.slice(b)}`;
}

export const CHART_DIR = resolve(import.meta.dir, "..", "helm", "hookline");
export const README = resolve(import.meta.dir, "..", "README.md");

/** The table for the chart as it is on disk. */
export function chartValuesTable(chartDir = CHART_DIR): string {
  const values = readFileSync(join(chartDir, "values.yaml"), "utf8");
  const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8")) as unknown;
  return valuesTable(valueRows(values, schema));
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args.some((a) => a !== "--write")) {
    console.error("usage: ops/chart-values-doc [--write]   print the chart's values table, or rewrite README's block");
    process.exit(2);
  }
  const table = chartValuesTable();
  if (args.includes("--write")) {
    writeFileSync(README, replaceValuesBlock(readFileSync(README, "utf8"), table));
    console.error(`README.md values table rewritten from ${join(CHART_DIR, "values.yaml")}`);
  } else {
    console.log(table);
  }
}
