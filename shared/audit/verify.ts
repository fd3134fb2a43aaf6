// Walks audit_log in seq order, in batches, and reports the first row at which the chain
// does not hold (chain.ts). Appends may go on meanwhile: rows committed after the walk has
// passed them are simply checked when reached.
import type { Sql } from "postgres";
import { type ChainBreak, type ChainRow, ChainWalker, hex, misLinked } from "./chain.ts";

/**
 * The columns as the chain hashes them (seq as text, the time as hookline_audit_time writes it).
 * Their names shadow the table's in ORDER BY: qualify (audit_log.seq) to sort by number.
 */
export const ROW_COLUMNS = `seq::text as seq, hookline_audit_time(at) as at, actor, action, entity_type, entity_id,
  changed_fields, before_hash, after_hash, details, prev_hash, hash`;

export interface StoredRow {
  seq: string;
  at: string;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string | null;
  changed_fields: string[];
  before_hash: Buffer | null;
  after_hash: Buffer | null;
  details: Record<string, unknown>;
  prev_hash: Buffer;
  hash: Buffer;
}

/** A stored row as the chain hashes it (hashes of the entity in hex, its own as bytes). */
export function chainRow(r: StoredRow): ChainRow {
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    entityType: r.entity_type,
    entityId: r.entity_id,
    changedFields: r.changed_fields,
    beforeHash: hex(r.before_hash),
    afterHash: hex(r.after_hash),
    details: r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** A seq and the hash the chain had there, noted down elsewhere: proves no rewrite up to it. */
export interface Anchor {
  seq: string;
  hash: string;
}

export interface VerifyResult {
  /** Rows that verified. */
  rows: number;
  /** The last row that verified. */
  head: { seq: string; hash: string } | null;
  broken: ChainBreak | null;
}

/** The highest seq: the walk's length, for a progress bar. */
export async function chainLength(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: string }[]>`select coalesce(max(seq), 0)::text as n from audit_log`;
  return Number(row!.n);
}

export async function verifyChain(
  sql: Sql,
  opts: { batchSize?: number; anchor?: Anchor; onProgress?: (seq: number) => void } = {},
): Promise<VerifyResult> {
  const batchSize = opts.batchSize ?? 5_000;
  const walker = new ChainWalker();
  let head: VerifyResult["head"] = null;
  const result = (broken: ChainBreak | null): VerifyResult => ({ rows: walker.rows, head, broken });
  let after = "0";
  for (;;) {
    const rows = await sql<StoredRow[]>`
      select ${sql.unsafe(ROW_COLUMNS)} from audit_log where audit_log.seq > ${after}::bigint order by audit_log.seq limit ${batchSize}`;
    for (const stored of rows) {
      const row = chainRow(stored);
      const outcome = walker.check(row);
      if (outcome && "kind" in outcome) return result(outcome);
      if (outcome) {
        const [linked] = await sql<{ seq: string }[]>`
          select seq::text as seq from audit_log where hash = ${outcome.row.prevHash} limit 1`;
        return result(misLinked(outcome, linked?.seq ?? null));
      }
      head = { seq: row.seq, hash: hex(row.hash)! };
      if (opts.anchor && row.seq === opts.anchor.seq && head.hash !== opts.anchor.hash.toLowerCase())
        return result({
          seq: row.seq,
          kind: "changed",
          message: `row ${row.seq} has another hash than the anchor: the chain was rewritten up to this row`,
        });
    }
    if (rows.length > 0) {
      after = rows[rows.length - 1]!.seq;
      opts.onProgress?.(Number(after));
    }
    if (rows.length < batchSize) break;
  }
  const last = BigInt(head?.seq ?? 0);
  if (opts.anchor && BigInt(opts.anchor.seq) > last)
    return result({
      seq: String(last + 1n),
      kind: "removed",
      message: `the chain ends at row ${last}, before the anchor's row ${opts.anchor.seq}: rows at the end were removed`,
    });
  return result(null);
}
