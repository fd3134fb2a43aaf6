// Appending to audit_log inside the caller's transaction, so an entry exists exactly when
// what it records was committed. The chain is extended under a transaction-level advisory
// lock (hookline_audit_head, migration 008) held until that transaction commits: concurrent
// writers in any number of pods append one after another and never fork the chain. Call it
// last in a transaction, since the lock is held from here to the commit.
import type { TransactionSql } from "postgres";
import { entityHash } from "./canonical.ts";
import { type AuditFields, chainHash, GENESIS, hex } from "./chain.ts";

/** JSON a details object may hold (never patient data: ids, codes, counts, sources). */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json | undefined };

export interface AuditEntry {
  /** Who: 'token:<id>' (or the token's name), 'system', 'projector', 'cli:<user>'. */
  actor: string;
  /** What, as <entity>.<verb>: webhook.receive, patient.read, patient.update, conflict.accept, ... */
  action: string;
  entityType: string;
  entityId?: string | null;
  /** The fields that changed (canonical names). */
  changedFields?: readonly string[];
  /** The entity before and after the change; only their hashes are kept (entityHash). */
  before?: unknown;
  after?: unknown;
  details?: { [key: string]: Json | undefined };
}

/**
 * Text Postgres stores as given: no U+0000, no lone surrogates. Cleaned before hashing, so
 * the hash covers what is stored (an event id from a sender could hold either).
 */
function clean<T>(value: T): T {
  if (typeof value === "string") return value.replaceAll("\u0000", "").toWellFormed() as T;
  if (Array.isArray(value)) return value.map(clean) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[clean(k)] = clean(v);
    return out as T;
  }
  return value;
}

const hashOf = (state: unknown): string | null => (state === undefined ? null : hex(entityHash(state)));

/** The row's fields for `entry` at `seq` and `at`. */
function fieldsOf(entry: AuditEntry, seq: bigint, at: string): AuditFields {
  return {
    seq: String(seq),
    at,
    actor: clean(entry.actor),
    action: clean(entry.action),
    entityType: clean(entry.entityType),
    entityId: entry.entityId == null ? null : clean(String(entry.entityId)),
    changedFields: clean([...(entry.changedFields ?? [])]),
    beforeHash: hashOf(entry.before),
    afterHash: hashOf(entry.after),
    details: clean(entry.details ?? {}) as Record<string, unknown>,
  };
}

/**
 * Appends `entries`, in order, to the chain within `tx` (one multi-row insert). Returns their
 * seqs. The transaction must be READ COMMITTED (the default); the lock it takes is held
 * until `tx` ends.
 */
export async function recordAudit(tx: TransactionSql, entries: AuditEntry | readonly AuditEntry[]): Promise<string[]> {
  const list: readonly AuditEntry[] = Array.isArray(entries) ? entries : [entries as AuditEntry];
  if (list.length === 0) return [];
  const [head] = await tx<{ head_seq: string | null; head_hash: Buffer | null; now_text: string }[]>`
    select head_seq, head_hash, now_text from hookline_audit_head()`;
  let seq = BigInt(head!.head_seq ?? 0);
  let prev: Buffer = head!.head_hash ?? GENESIS;
  const rows = list.map((entry) => {
    seq += 1n;
    const fields = fieldsOf(entry, seq, head!.now_text);
    const hash = chainHash(prev, fields);
    const row = { ...fields, prevHash: hex(prev), hash: hex(hash) };
    prev = hash;
    return row;
  });
  // One parameter for the whole batch: jsonb_to_recordset turns each object into a row
  // (a JSON array into text[]), so any number of entries binds the same.
  await tx`
    insert into audit_log (seq, at, actor, action, entity_type, entity_id, changed_fields, before_hash, after_hash,
      details, prev_hash, hash)
    select r.seq, r.at::timestamptz, r.actor, r.action, r."entityType", r."entityId", r."changedFields",
      decode(r."beforeHash", 'hex'), decode(r."afterHash", 'hex'), r.details,
      decode(r."prevHash", 'hex'), decode(r.hash, 'hex')
    from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as r(seq bigint, at text, actor text, action text,
      "entityType" text, "entityId" text, "changedFields" text[], "beforeHash" text, "afterHash" text, details jsonb,
      "prevHash" text, hash text)`;
  return rows.map((r) => r.seq);
}
