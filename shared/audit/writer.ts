// Appending to audit_log inside the caller's transaction, so an entry exists exactly when
// what it records was committed (or on its own: one statement is its own transaction). The
// chain is extended by hookline_audit_append (migration 019) under a transaction-level
// advisory lock held until that transaction commits: concurrent writers in any number of pods
// append one after another and never fork the chain. Call it last in a transaction, since the
// lock is held from here to the commit.
import type { Sql, TransactionSql } from "postgres";
import { type AuditFields, hex, prepareFields } from "./chain.ts";

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
  /** The entity before and after the change, as entityHash (canonical.ts) of each: never the values. */
  beforeHash?: Uint8Array | null;
  afterHash?: Uint8Array | null;
  details?: { [key: string]: Json | undefined };
}

/** Text Postgres stores as given: no U+0000, no lone surrogates. */
const cleanText = (s: string) => (s.includes("\u0000") ? s.replaceAll("\u0000", "") : s).toWellFormed();

/**
 * `value` with its text cleaned (cleanText) and undefined members dropped, before hashing,
 * so the hash covers what is stored (an event id from a sender could hold either).
 */
function clean<T>(value: T): T {
  if (typeof value === "string") return cleanText(value) as T;
  if (Array.isArray(value)) return value.map(clean) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[cleanText(k)] = clean(v);
    return out as T;
  }
  return value;
}

/** The row's fields for `entry` but seq and at (known under the lock). */
function fieldsOf(entry: AuditEntry): Omit<AuditFields, "seq" | "at"> {
  return {
    actor: cleanText(entry.actor),
    action: cleanText(entry.action),
    entityType: cleanText(entry.entityType),
    entityId: entry.entityId == null ? null : cleanText(String(entry.entityId)),
    changedFields: (entry.changedFields ?? []).map(cleanText),
    beforeHash: hex(entry.beforeHash),
    afterHash: hex(entry.afterHash),
    details: clean(entry.details ?? {}) as Record<string, unknown>,
  };
}

/**
 * Appends `entries`, in order, to the chain: within `tx`, or as a statement of its own when
 * given the pool (a read's entry: audit-batch.ts). Returns their seqs. A transaction must be
 * READ COMMITTED (the default); the lock taken is held until it ends. Everything but the time,
 * the seqs and the hashes is serialized here, before the lock is taken; those three are added
 * under it, in the same statement (migration 019), so the lock is held for no round trip.
 */
export async function recordAudit(
  tx: TransactionSql | Sql,
  entries: AuditEntry | readonly AuditEntry[],
): Promise<string[]> {
  const list: readonly AuditEntry[] = Array.isArray(entries) ? entries : [entries as AuditEntry];
  if (list.length === 0) return [];
  const prepared = list.map((entry) => prepareFields(fieldsOf(entry)));
  const [row] = await tx<{ first: string }[]>`
    select hookline_audit_append(${JSON.stringify(prepared.map((p) => [p.head, p.middle]))}::text::jsonb)::text as first`;
  const first = BigInt(row!.first);
  return list.map((_, i) => String(first + BigInt(i)));
}
