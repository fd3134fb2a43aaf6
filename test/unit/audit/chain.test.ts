// The hash chain (shared/audit/chain.ts): each row's hash covers the previous hash and its
// fields; a walk in seq order finds the first changed, removed or reordered row.
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { canonicalJson } from "../../../shared/audit/canonical.ts";
import {
  type AuditFields,
  type ChainBreak,
  type ChainRow,
  ChainWalker,
  chainHash,
  GENESIS,
  misLinked,
  prepareFields,
} from "../../../shared/audit/chain.ts";

function fields(seq: number, over: Partial<AuditFields> = {}): AuditFields {
  return {
    seq: String(seq),
    at: `2026-11-29T10:00:00.${String(seq).padStart(6, "0")}Z`,
    actor: "projector",
    action: "webhook.receive",
    entityType: "webhook_event",
    entityId: `evt_${seq}`,
    changedFields: [],
    beforeHash: null,
    afterHash: null,
    details: { source: "generic", outcome: "projected" },
    ...over,
  };
}

/** A valid chain of n rows, as the writer builds it. */
function chain(n: number): ChainRow[] {
  const rows: ChainRow[] = [];
  let prev: Buffer = GENESIS;
  for (let i = 1; i <= n; i++) {
    const f = fields(i);
    const hash = chainHash(prev, f);
    rows.push({ ...f, prevHash: prev, hash });
    prev = hash;
  }
  return rows;
}

/** Walks like `audit verify`: the first break, resolving mis-links by hash lookup over `rows`. */
function walk(rows: ChainRow[]): ChainBreak | null {
  const walker = new ChainWalker();
  for (const row of [...rows].sort((a, b) => Number(a.seq) - Number(b.seq))) {
    const outcome = walker.check(row);
    if (outcome && "kind" in outcome) return outcome;
    if (outcome) return misLinked(outcome, rows.find((r) => r.hash.equals(outcome.row.prevHash))?.seq ?? null);
  }
  return null;
}

test("hash = SHA-256(prev hash || canonical JSON of the fields, hashes and all else excluded)", () => {
  const f = fields(1);
  const expected = createHash("sha256").update(GENESIS).update(canonicalJson(f)).digest();
  expect(chainHash(GENESIS, f).equals(expected)).toBe(true);
  // Extra members of a stored row (its own hashes) are not hashed.
  expect(chainHash(GENESIS, { ...f, prevHash: GENESIS, hash: expected } as AuditFields).equals(expected)).toBe(true);
  // Each field counts, seq too; so does the previous hash.
  for (const over of [
    { seq: "2" },
    { at: "2026-11-29T10:00:00.000002Z" },
    { actor: "cli:root" },
    { action: "patient.read" },
    { entityType: "patient" },
    { entityId: null },
    { changedFields: ["email"] },
    { beforeHash: "00".repeat(32) },
    { afterHash: "11".repeat(32) },
    { details: { source: "generic", outcome: "duplicate" } },
  ])
    expect(chainHash(GENESIS, fields(1, over)).equals(expected)).toBe(false);
  expect(chainHash(Buffer.alloc(32, 1), f).equals(expected)).toBe(false);
});

test("the parts a writer prepares before taking the lock are the canonical JSON, whatever the text holds", () => {
  const odd = ['"quoted", \\ back\nslash', "é\u{1F600}\u2028", "", "seq", '"at":"x"', "}"];
  for (const text of odd) {
    const f = fields(123456789, {
      actor: text,
      action: text,
      entityType: text,
      entityId: text,
      changedFields: [text, "b", "a"],
      beforeHash: "ab".repeat(32),
      details: { [text]: text, nested: { z: [text], a: 1.5 } },
    });
    const p = prepareFields(f);
    expect(`${p.head}${JSON.stringify(f.at)}${p.middle}${JSON.stringify(f.seq)}}`).toBe(canonicalJson(f));
  }
});

test("an intact chain walks through", () => {
  const walker = new ChainWalker();
  for (const row of chain(50)) expect(walker.check(row)).toBeNull();
  expect(walker.rows).toBe(50);
  expect(walk([])).toBeNull();
});

test("a changed field: the row it is in", () => {
  const rows = chain(10);
  rows[6] = { ...rows[6]!, details: { source: "generic", outcome: "duplicate" } };
  expect(walk(rows)).toMatchObject({ seq: "7", kind: "changed" });
});

test("a changed row whose hash was recomputed: the next row no longer links to it", () => {
  const rows = chain(10);
  const forged = fields(4, { actor: "someone else" });
  rows[3] = { ...forged, prevHash: rows[2]!.hash, hash: chainHash(rows[2]!.hash, forged) };
  const broken = walk(rows)!;
  expect(broken).toMatchObject({ seq: "5", kind: "changed" });
  expect(broken.message).toContain("does not link to row 4");
});

test("a removed row: a gap in seq, named by the first missing seq", () => {
  const rows = chain(10);
  expect(walk(rows.filter((r) => r.seq !== "6"))).toMatchObject({ seq: "6", kind: "removed" });
  expect(walk(rows.filter((r) => !["6", "7", "8"].includes(r.seq)))!.message).toContain("rows 6 to 8 are missing");
  expect(walk(rows.slice(2))).toMatchObject({ seq: "1", kind: "removed" });
});

test("two rows swapped (their seqs exchanged): reordered", () => {
  const rows = chain(10);
  const a = rows[4]!; // seq 5
  const b = rows[5]!; // seq 6
  rows[4] = { ...a, seq: "6" };
  rows[5] = { ...b, seq: "5" };
  const broken = walk(rows)!;
  expect(broken).toMatchObject({ seq: "5", kind: "reordered" });
  expect(broken.message).toContain("chained after row 6");
});

test("a row removed and the rest renumbered: no gap, still found", () => {
  const rows = chain(10)
    .filter((r) => r.seq !== "3")
    .map((r) => (Number(r.seq) > 3 ? { ...r, seq: String(Number(r.seq) - 1) } : r));
  // Row "3" (formerly 4) links to the hash of row 3, which no row carries any more.
  expect(walk(rows)).toMatchObject({ seq: "3", kind: "changed" });
});
