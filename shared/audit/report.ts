// Compliance exports of audit_log: the rows of a time range in seq order, as CSV (RFC 4180)
// or JSON, read through a cursor so a year of rows never sits in memory at once.
import type { Sql } from "postgres";
import type { ChainRow } from "./chain.ts";
import { hex } from "./chain.ts";
import { chainRow, ROW_COLUMNS, type StoredRow } from "./verify.ts";

/** A row as exported: hashes in hex, the time as hashed. */
export type ReportRow = Omit<ChainRow, "prevHash" | "hash"> & { prevHash: string; hash: string };

const REPORT_HEADER = [
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
] as const;

function reportRow(r: StoredRow): ReportRow {
  const row = chainRow(r);
  return { ...row, prevHash: hex(row.prevHash)!, hash: hex(row.hash)! };
}

/**
 * One CSV field. Quoted when it holds a comma, quote, CR or LF (quotes doubled, RFC 4180).
 * A field a spreadsheet would run as a formula (starting with = + - @, tab or CR) gets a
 * leading apostrophe: entity ids and details come partly from webhook senders.
 */
export function csvField(value: string | null): string {
  if (value === null) return "";
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** A row as one CSV record (CRLF-terminated), columns as REPORT_HEADER; changed fields joined by ";". */
export function csvRecord(r: ReportRow): string {
  return `${[
    r.seq,
    r.at,
    r.actor,
    r.action,
    r.entityType,
    r.entityId,
    r.changedFields.join(";"),
    r.beforeHash,
    r.afterHash,
    JSON.stringify(r.details),
    r.prevHash,
    r.hash,
  ]
    .map(csvField)
    .join(",")}\r\n`;
}

export const csvHeader = (): string => `${REPORT_HEADER.join(",")}\r\n`;

/** The rows with from <= at < to, in seq order, a batch at a time. */
export async function* reportRows(sql: Sql, from: Date, to: Date, batchSize = 1_000): AsyncGenerator<ReportRow[]> {
  const cursor = sql<StoredRow[]>`
    select ${sql.unsafe(ROW_COLUMNS)} from audit_log where audit_log.at >= ${from} and audit_log.at < ${to} order by audit_log.seq`.cursor(
    batchSize,
  );
  for await (const rows of cursor) yield rows.map(reportRow);
}
