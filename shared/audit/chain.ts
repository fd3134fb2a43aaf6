// The hash chain of audit_log, pure: what a row's hash covers, and how a walk over the rows
// in seq order tells an intact chain from a changed, removed or reordered row.
//
//   hash(row) = SHA-256(prev_hash || canonical JSON of the row's fields)
//
// where prev_hash is the previous row's hash (32 zero bytes before the first row), and the
// fields are every column but the two hashes, seq included, so renumbering a row changes it.
import { canonicalJson, quote } from "./canonical.ts";

/** prev_hash of the first row. */
export const GENESIS = Buffer.alloc(32);

/** A row's hashed fields, as they are hashed (hashes as lower-case hex, time as text). */
export interface AuditFields {
  /** Decimal text (bigint in the table). */
  seq: string;
  /** UTC with microseconds, as hookline_audit_time writes it. */
  at: string;
  actor: string;
  action: string;
  entityType: string;
  entityId: string | null;
  changedFields: string[];
  beforeHash: string | null;
  afterHash: string | null;
  details: Record<string, unknown>;
}

/**
 * The canonical JSON of a row's fields in parts around `at` and `seq`, which a writer learns
 * only once it holds the append lock: everything else is serialized before taking it. With
 * the keys in canonical (sorted) order, `at` comes fourth and `seq` last.
 */
export interface PreparedFields {
  /** `{"action":…,"actor":…,"afterHash":…,"at":` */
  head: string;
  /** `,"beforeHash":…,"entityType":…,"seq":` */
  middle: string;
}

const j = (value: string | null) => (value === null ? "null" : quote(value));
/**
 * A string that never needs escaping (lower-case hex, decimal digits, the UTC time text),
 * quoted without looking: the same text as j, for the fields every row has (a profile showed
 * the escape test at 5% of the projector's CPU).
 */
const plain = (value: string | null) => (value === null ? "null" : `"${value}"`);

export function prepareFields(f: Omit<AuditFields, "seq" | "at">): PreparedFields {
  return {
    head: `{"action":${j(f.action)},"actor":${j(f.actor)},"afterHash":${plain(f.afterHash)},"at":`,
    middle:
      `,"beforeHash":${plain(f.beforeHash)},"changedFields":${canonicalJson(f.changedFields)},` +
      `"details":${canonicalJson(f.details)},"entityId":${j(f.entityId)},"entityType":${j(f.entityType)},"seq":`,
  };
}

/**
 * The canonical JSON of the fields, put together from prepared parts, and the row's hash:
 * SHA-256(prevHash || it). Writers append through hookline_audit_append (migration 019), which
 * puts the parts together the same way; the verifier hashes here.
 */
function seal(prevHash: Uint8Array, p: PreparedFields, at: string, seq: string): { text: string; hash: Buffer } {
  const text = `${p.head}${plain(at)}${p.middle}${plain(seq)}}`;
  // Bun's hasher: a few times faster than node:crypto's createHash here (one a webhook).
  return { text, hash: new Bun.CryptoHasher("sha256").update(prevHash).update(text).digest() };
}

export function chainHash(prevHash: Uint8Array, f: AuditFields): Buffer {
  return seal(prevHash, prepareFields(f), f.at, f.seq).hash;
}

/** A stored row: its fields and both hashes. */
export interface ChainRow extends AuditFields {
  prevHash: Buffer;
  hash: Buffer;
}

type BreakKind = "changed" | "removed" | "reordered";

export interface ChainBreak {
  /** The first seq at which the chain does not hold. */
  seq: string;
  kind: BreakKind;
  message: string;
}

/** A row that links to a row other than its predecessor: resolved by the caller (a lookup by hash). */
export interface MisLinked {
  row: ChainRow;
  /** seq of the predecessor, "0" before the first row. */
  predecessorSeq: string;
}

/**
 * Checks rows one by one in seq order. `check` returns null while the chain holds; a break;
 * or, when a row's prev_hash is not its predecessor's hash, a MisLinked for the caller to
 * classify with `misLinked` once it knows which row (if any) carries that hash.
 */
export class ChainWalker {
  private prevSeq = 0n;
  private prevHash: Buffer = GENESIS;
  rows = 0;

  check(row: ChainRow): ChainBreak | MisLinked | null {
    const seq = BigInt(row.seq);
    if (seq !== this.prevSeq + 1n) {
      const first = this.prevSeq + 1n;
      return {
        seq: String(first),
        kind: "removed",
        message:
          seq - 1n === first
            ? `row ${first} is missing (seq goes from ${this.prevSeq} to ${seq})`
            : `rows ${first} to ${seq - 1n} are missing (seq goes from ${this.prevSeq} to ${seq})`,
      };
    }
    if (!row.prevHash.equals(this.prevHash)) return { row, predecessorSeq: String(this.prevSeq) };
    if (!chainHash(row.prevHash, row).equals(row.hash))
      return {
        seq: row.seq,
        kind: "changed",
        message: `row ${row.seq} does not match its hash: its fields were changed`,
      };
    this.prevSeq = seq;
    this.prevHash = row.hash;
    this.rows++;
    return null;
  }
}

/**
 * Classifies a row whose prev_hash is not its predecessor's hash. `linkedSeq` is the seq of the
 * row whose hash it carries, if one exists. When that row is another one, the row was moved
 * (its seq swapped or renumbered); when none has it, the predecessor or this row was rewritten
 * with a recomputed hash (or rows were removed and the rest renumbered).
 */
export function misLinked({ row, predecessorSeq }: MisLinked, linkedSeq: string | null): ChainBreak {
  if (linkedSeq !== null && linkedSeq !== predecessorSeq)
    return {
      seq: row.seq,
      kind: "reordered",
      message: `row ${row.seq} was chained after row ${linkedSeq}, not after row ${predecessorSeq}: rows were reordered`,
    };
  return {
    seq: row.seq,
    kind: "changed",
    message: `row ${row.seq} does not link to row ${predecessorSeq}: one of them was rewritten (its hash recomputed) or rows between them were removed and the rest renumbered`,
  };
}

/** Hex of a hash, or null. */
export const hex = (b: Uint8Array | null | undefined): string | null => (b ? Buffer.from(b).toString("hex") : null);
