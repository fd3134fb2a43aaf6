// CSV of the compliance export (shared/audit/report.ts): RFC 4180 quoting, and no cell a
// spreadsheet would run as a formula (entity ids come partly from webhook senders).
import { expect, test } from "bun:test";
import { csvField, csvHeader, csvRecord, type ReportRow } from "../../../shared/audit/report.ts";
import { parseCsv } from "../../csv.ts";

test("fields with a comma, quote, CR or LF are quoted, quotes doubled; others left bare", () => {
  expect(csvField("plain")).toBe("plain");
  expect(csvField(null)).toBe("");
  expect(csvField("a,b")).toBe('"a,b"');
  expect(csvField('say "hi"')).toBe('"say ""hi"""');
  expect(csvField("two\nlines")).toBe('"two\nlines"');
  expect(csvField("cr\rhere")).toBe('"cr\rhere"');
});

test("a cell starting like a formula is defused with an apostrophe", () => {
  for (const s of ["=HYPERLINK(1)", "+1", "-1+2", "@SUM(A1)", "\tx"]) expect(csvField(s)).toBe(`'${s}`);
  expect(csvField('=1,"2"')).toBe(`"'=1,""2"""`);
});

test("a record reads back field by field, details as JSON, changed fields joined by ;", () => {
  const row: ReportRow = {
    seq: "7",
    at: "2026-11-29T10:00:00.123456Z",
    actor: "token-role:admin",
    action: "conflict.accept",
    entityType: "patient_conflict",
    entityId: 'evt,"odd"\r\nid',
    changedFields: ["status", "resolvedAt"],
    beforeHash: "ab".repeat(32),
    afterHash: null,
    details: { patientId: "3", note: 'a "quote", comma' },
    prevHash: "00".repeat(32),
    hash: "ff".repeat(32),
  };
  const [header, record] = parseCsv(csvHeader() + csvRecord(row));
  expect(header).toEqual([
    "seq",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "changed_fields",
    "before_hash",
    "after_hash",
    "details",
    "prev_hash",
    "hash",
  ]);
  expect(record).toEqual([
    "7",
    "2026-11-29T10:00:00.123456Z",
    "token-role:admin",
    "conflict.accept",
    "patient_conflict",
    'evt,"odd"\r\nid',
    "status;resolvedAt",
    "ab".repeat(32),
    "",
    JSON.stringify(row.details),
    "00".repeat(32),
    "ff".repeat(32),
  ]);
});
