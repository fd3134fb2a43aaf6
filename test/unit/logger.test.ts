// Patient data never reaches a log line (issue #7 item 9): every sensitive canonical field,
// at the top level and nested one level, is redacted by the service logger.
import { expect, test } from "bun:test";
import { createLogger } from "../../shared/logger.ts";
import { SENSITIVE_FIELDS } from "../../shared/patient-fields.ts";

/** A value per field that could not appear in a log line by chance. */
const valueOf = (field: string, where: string) => `${where}-${field}-VALUE-7f3a`;

test("every sensitive field is redacted, top level and one level down", () => {
  const lines: string[] = [];
  const log = createLogger("test", "info", { write: (line: string) => void lines.push(line) });
  const top = Object.fromEntries(SENSITIVE_FIELDS.map((f) => [f.name, valueOf(f.name, "top")]));
  const nested = Object.fromEntries(SENSITIVE_FIELDS.map((f) => [f.name, valueOf(f.name, "nested")]));
  log.info({ ...top, record: nested, marker: "still-logged" }, "patient written");
  const output = lines.join("");
  expect(output).toContain("still-logged");
  expect(output).toContain("[redacted]");
  for (const f of SENSITIVE_FIELDS) {
    expect(output).not.toContain(valueOf(f.name, "top"));
    expect(output).not.toContain(valueOf(f.name, "nested"));
  }
});

test("the other redacted paths stay: secrets, tokens, authorization, bodies, database error details", () => {
  const lines: string[] = [];
  const log = createLogger("test", "info", { write: (line: string) => void lines.push(line) });
  log.info({ secret: "S-1", token: "S-2", password: "S-3", body: "S-4", headers: { authorization: "S-5" }, err: { detail: "S-6" }, req: { body: "S-7" } }, "x");
  for (let i = 1; i <= 7; i++) expect(lines.join("")).not.toContain(`S-${i}`);
});
