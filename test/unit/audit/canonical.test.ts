// Canonical JSON (shared/audit/canonical.ts): the text the audit trail hashes must not depend
// on key order, nor change when a value goes through JSON (and jsonb) and back.
import { expect, test } from "bun:test";
import { createHash, createHmac } from "node:crypto";
import { CanonicalJsonError, canonicalJson, entityHash, quote } from "../../../shared/audit/canonical.ts";

test("keys sorted at every depth, no whitespace", () => {
  expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } })).toBe(
    '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
  );
  expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
});

test("keys sort by UTF-16 code units (RFC 8785), not by locale", () => {
  // "é" (U+00E9) after "z"; "\u{1F600}" (surrogates D83D…) before "\uFFFD" (code unit order).
  expect(canonicalJson({ é: 1, z: 2, Z: 3, a: 4 })).toBe('{"Z":3,"a":4,"z":2,"é":1}');
  expect(canonicalJson({ "\uFFFD": 1, "\u{1F600}": 2 })).toBe('{"\u{1F600}":2,"\uFFFD":1}');
});

test("strings and numbers written as JSON.stringify writes them", () => {
  expect(canonicalJson(['a"b\\c\n\u0001', 1e21, 0.1, -0, 1.5e-7, 255])).toBe(
    '["a\\"b\\\\c\\n\\u0001",1e+21,0.1,0,1.5e-7,255]',
  );
});

test("quote (its fast path for text needing no escapes) writes every UTF-16 code unit as JSON.stringify does", () => {
  for (let c = 0; c <= 0xffff; c++) {
    const s = String.fromCharCode(c);
    if (quote(s) !== JSON.stringify(s)) throw new Error(`U+${c.toString(16)}: ${quote(s)} != ${JSON.stringify(s)}`);
    const inText = `ab${s}cd`;
    if (quote(inText) !== JSON.stringify(inText)) throw new Error(`U+${c.toString(16)} inside text`);
  }
  for (const s of ["\u{1F600}", "x\uD83D", "\uDE00x", "\u2028\u2029", ""]) expect(quote(s)).toBe(JSON.stringify(s));
});

test("the same text as JSON.stringify where that has no key-order choice", () => {
  const values = [null, true, false, "s", 3.25, [], {}, [1, [2, [3]]], { a: null }, new Date(0)];
  for (const v of values) expect(canonicalJson(v)).toBe(JSON.stringify(v));
});

test("undefined members dropped; undefined, functions and non-finite numbers in arrays become null", () => {
  expect(canonicalJson({ a: undefined, b: () => 1, c: 1 })).toBe('{"c":1}');
  expect(canonicalJson([undefined, () => 1, Number.NaN, Number.POSITIVE_INFINITY])).toBe("[null,null,null,null]");
  expect(canonicalJson({ n: Number.NEGATIVE_INFINITY })).toBe('{"n":null}');
});

test("a value and its JSON round trip (what jsonb gives back, keys reordered) have the same text", () => {
  const value = {
    answers: { Vorname: "Ada", "E-Mail": "ada@example.com", Alter: 36, Interessen: ["a", "b"], leer: null },
    submittedAt: new Date("2026-11-29T10:00:00.123Z"),
    skipped: undefined,
    big: 1.2345678901234567e19,
    tiny: 5e-324,
  };
  const roundTripped = JSON.parse(JSON.stringify(value));
  const reordered = Object.fromEntries(Object.entries(roundTripped).reverse());
  expect(canonicalJson(reordered)).toBe(canonicalJson(value));
});

test("bigints and cycles are refused with a code, not written some arbitrary way", () => {
  expect(() => canonicalJson({ n: 1n })).toThrow(CanonicalJsonError);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  try {
    canonicalJson(cyclic);
    throw new Error("no error");
  } catch (error) {
    expect((error as CanonicalJsonError).code).toBe("audit_not_canonical");
  }
  // The same object twice (not a cycle) is fine.
  const shared = { x: 1 };
  expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
});

test("entityHash is HMAC-SHA256 of the canonical text under its key: another key, another hash; never the bare SHA-256", () => {
  const k1 = { id: "k1", key: Buffer.alloc(32, 1) };
  const k2 = { id: "k2", key: Buffer.alloc(32, 2) };
  const text = '{"a":1,"b":[true,null]}';
  const value = { b: [true, null], a: 1 };
  expect(entityHash(k1, value).toString("hex")).toBe(createHmac("sha256", k1.key).update(text).digest("hex"));
  expect(entityHash(k1, value).equals(entityHash(k2, value))).toBe(false);
  // Whoever holds an export but not the key cannot confirm a guessed state by hashing it.
  expect(entityHash(k1, value).toString("hex")).not.toBe(createHash("sha256").update(text).digest("hex"));
  expect(entityHash(k1, { a: 1 }).equals(entityHash(k1, { a: 2 }))).toBe(false);
});
