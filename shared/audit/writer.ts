// Appending to audit_log inside the caller's transaction, so an entry exists exactly when
// what it records was committed. The chain is extended under a transaction-level advisory
// lock (hookline_audit_head, migration 008) held until that transaction commits: concurrent
// writers in any number of pods append one after another and never fork the chain. Call it
// last in a transaction, since the lock is held from here to the commit.
import type { TransactionSql } from "postgres";
import { type AuditFields, GENESIS, hex, prepareFields, seal } from "./chain.ts";

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
 * Appends `entries`, in order, to the chain within `tx` (one multi-row insert). Returns their
 * seqs. The transaction must be READ COMMITTED (the default); the lock it takes is held
 * until `tx` ends. Everything but the chain hashes is serialized before taking it.
 */
export async function recordAudit(tx: TransactionSql, entries: AuditEntry | readonly AuditEntry[]): Promise<string[]> {
  const list: readonly AuditEntry[] = Array.isArray(entries) ? entries : [entries as AuditEntry];
  if (list.length === 0) return [];
  const prepared = list.map((entry) => prepareFields(fieldsOf(entry)));

  const [head] = await tx<{ head_seq: string | null; head_hash: Buffer | null; now_text: string }[]>`
    select head_seq, head_hash, now_text from hookline_audit_head()`;
  const at = head!.now_text;
  let seq = BigInt(head!.head_seq ?? 0);
  let prev: Buffer = head!.head_hash ?? GENESIS;
  const seqs: string[] = [];
  const rows = prepared.map((fields) => {
    seq += 1n;
    const s = String(seq);
    const { text, hash } = seal(prev, fields, at, s);
    // The hashed text is the row's JSON too (seq a string, "at" unused): add the two hashes.
    const row = `${text.slice(0, -1)},"prevHash":"${hex(prev)}","hash":"${hex(hash)}"}`;
    prev = hash;
    seqs.push(s);
    return row;
  });
  // One parameter for the whole batch: jsonb_to_recordset turns each object into a row
  // (a JSON array into text[]), so any number of entries binds the same. The time goes as
  // text: as a timestamptz parameter the driver would round it to milliseconds.
  await tx`
    insert into audit_log (seq, at, actor, action, entity_type, entity_id, changed_fields, before_hash, after_hash,
      details, prev_hash, hash)
    select r.seq, ${at}::text::timestamptz, r.actor, r.action, r."entityType", r."entityId", r."changedFields",
      decode(r."beforeHash", 'hex'), decode(r."afterHash", 'hex'), r.details,
      decode(r."prevHash", 'hex'), decode(r.hash, 'hex')
    from jsonb_to_recordset(${`[${rows.join(",")}]`}::text::jsonb) as r(seq bigint, actor text, action text,
      "entityType" text, "entityId" text, "changedFields" text[], "beforeHash" text, "afterHash" text, details jsonb,
      "prevHash" text, hash text)`;
  return seqs;
}
