// Blind indexes (shared/crypto/blind-index.ts) against a fixed vector (checked with
// `openssl dgst -sha256 -mac HMAC`), and their normalization through the field normalizers.
import { describe, expect, test } from "bun:test";
import { blindIndex, indexWith, lookupIndexes } from "../../../shared/crypto/blind-index.ts";
import { keyIdOf } from "../../../shared/crypto/envelope.ts";
import { createKeyring, type DataKey } from "../../../shared/crypto/keyring.ts";

const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString("hex") : null);
const I1: DataKey = { id: "k1", key: Buffer.alloc(32, 7), createdAt: new Date("2026-01-01") };
const I2: DataKey = { id: "i2", key: Buffer.alloc(32, 5), createdAt: new Date("2026-06-01") };

describe("blind index format v1", () => {
  test("fixed vector: version, key id, HMAC-SHA256(key, purpose 0x00 value)", () => {
    // printf 'patients.email\0ada@example.com' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0707…07
    expect(hex(indexWith(I1, "email", "ada@example.com"))).toBe(
      "01" + "02" + "6b31" + "f53fa70061d65ca1369f1294937227755736ba5ea6fc8499e2fd0809ab88bc10",
    );
  });

  test("values are normalized by their field's normalizer before indexing", () => {
    const keys = createKeyring([I1]);
    expect(hex(blindIndex(keys, "email", "  Ada@Example.COM "))).toBe(hex(indexWith(I1, "email", "ada@example.com")));
    expect(hex(blindIndex(keys, "phone", "0170 1234567"))).toBe(hex(blindIndex(keys, "phone", "+49 170 1234567")));
    expect(hex(blindIndex(keys, "phone", "+491701234567"))).toBe(hex(indexWith(I1, "phone", "+491701234567")));
  });

  test("an email and a phone never share an index; no value or an invalid one has none", () => {
    const keys = createKeyring([I1]);
    expect(hex(indexWith(I1, "email", "x"))).not.toBe(hex(indexWith(I1, "phone", "x")));
    expect(blindIndex(keys, "email", null)).toBeNull();
    expect(blindIndex(keys, "email", "not an email")).toBeNull();
    expect(lookupIndexes(keys, "phone", "hello")).toEqual([]);
  });

  test("stored under the current key; looked up under every key (during a rebuild)", () => {
    const keys = createKeyring([I2, I1]);
    expect(keyIdOf(blindIndex(keys, "email", "ada@example.com")!)).toBe("i2");
    expect(lookupIndexes(keys, "email", "ADA@example.com").map(hex)).toEqual([
      hex(indexWith(I2, "email", "ada@example.com")),
      hex(indexWith(I1, "email", "ada@example.com")),
    ]);
  });
});
