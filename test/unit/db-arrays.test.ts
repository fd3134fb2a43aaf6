// textColumn writes a column as one Postgres array literal; an element must come back as the
// text it was, whatever it holds (quotes, backslashes, braces, commas, the word NULL).
import { expect, test } from "bun:test";
import { textColumn } from "../../shared/db/arrays.ts";

/** Parses a one-dimensional array literal of quoted elements and unquoted NULLs, as Postgres does. */
function parseLiteral(literal: string): (string | null)[] {
  expect(literal.startsWith("{") && literal.endsWith("}")).toBe(true);
  const out: (string | null)[] = [];
  let i = 1;
  if (literal === "{}") return out;
  while (i < literal.length - 1) {
    if (literal.startsWith("NULL", i)) {
      out.push(null);
      i += 4;
    } else {
      expect(literal[i]).toBe('"');
      let text = "";
      for (i++; literal[i] !== '"'; i++) text += literal[i] === "\\" ? literal[++i] : literal[i];
      out.push(text);
      i++;
    }
    if (literal[i] === ",") i++;
  }
  return out;
}

test("every element comes back as written; null and undefined as NULL; dates as ISO text", () => {
  const values = ['a "quoted" word', "back\\slash", "{braces},commas", "NULL", "", "plain", null, undefined, 42, true];
  const literal = textColumn(values, (v) => v as string | null);
  expect(parseLiteral(literal)).toEqual([
    'a "quoted" word',
    "back\\slash",
    "{braces},commas",
    "NULL",
    "",
    "plain",
    null,
    null,
    "42",
    "true",
  ]);
  const date = new Date("2024-06-01T12:00:00.123Z");
  expect(parseLiteral(textColumn([date], (d) => d))).toEqual(["2024-06-01T12:00:00.123Z"]);
});

test("no rows: the empty array", () => {
  expect(textColumn([], () => "x")).toBe("{}");
});
