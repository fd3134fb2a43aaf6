// The at-rest format (shared/crypto/envelope.ts) against fixed vectors: the cipher against
// C2SP's published XAES-256-GCM vectors, the envelope (header, nonce, AAD) against a vector
// of its own, so a change to the format fails here before it makes stored data unreadable.
import { describe, expect, test } from "bun:test";
import {
  EnvelopeError,
  keyIdOf,
  open,
  openText,
  seal,
  sealWith,
  xaesOpen,
  xaesSeal,
} from "../../../shared/crypto/envelope.ts";
import { createKeyring, type DataKey } from "../../../shared/crypto/keyring.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const K1: DataKey = { id: "k1", key: Buffer.alloc(32, 7), createdAt: new Date("2026-01-01") };
const K2: DataKey = { id: "k2", key: Buffer.alloc(32, 8), createdAt: new Date("2026-04-01") };

describe("XAES-256-GCM (c2sp.org/XAES-256-GCM test vectors)", () => {
  const nonce = Buffer.from("ABCDEFGHIJKLMNOPQRSTUVWX");
  const plaintext = Buffer.from("XAES-256-GCM");
  test("vector 1: key 0x01.., no AAD", () => {
    const sealed = xaesSeal(Buffer.alloc(32, 1), nonce, plaintext, Buffer.alloc(0));
    expect(hex(sealed)).toBe("ce546ef63c9cc60765923609" + "b33a9a1974e96e52daf2fcf7075e2271");
    expect(xaesOpen(Buffer.alloc(32, 1), nonce, sealed, Buffer.alloc(0)).toString()).toBe("XAES-256-GCM");
  });
  test("vector 2: key 0x03.., AAD c2sp.org/XAES-256-GCM", () => {
    const aad = Buffer.from("c2sp.org/XAES-256-GCM");
    const sealed = xaesSeal(Buffer.alloc(32, 3), nonce, plaintext, aad);
    expect(hex(sealed)).toBe("986ec1832593df5443a17943" + "7fd083bf3fdb41abd740a21f71eb769d");
  });
});

describe("envelope format v1", () => {
  test("fixed vector: version 1, key id, 24-byte nonce, ciphertext, tag", () => {
    const sealed = sealWith(K1, "patients.email", Buffer.from("ada@example.com"), Buffer.alloc(24, 9));
    expect(hex(sealed)).toBe(
      "01" + // version
        "02" + // key id length
        "6b31" + // "k1"
        "09".repeat(24) + // nonce
        "93635ad70ccbe890e230c87ef8a0c2" + // 15 bytes of ciphertext
        "8ad88c818e9418b23274b08c5a92ae0f", // tag
    );
    expect(openText(createKeyring([K1]), "patients.email", sealed)).toBe("ada@example.com");
    expect(keyIdOf(sealed)).toBe("k1");
  });

  test("seal uses the current key and a fresh nonce; any key of the keyring opens", () => {
    const old = seal(createKeyring([K1]), "p", "same");
    const ring = createKeyring([K2, K1]);
    const a = seal(ring, "p", "same");
    const b = seal(ring, "p", "same");
    expect(keyIdOf(a)).toBe("k2");
    expect(hex(a)).not.toBe(hex(b));
    expect(openText(ring, "p", a)).toBe("same");
    expect(openText(ring, "p", old)).toBe("same");
  });

  const failure = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      expect(error).toBeInstanceOf(EnvelopeError);
      return (error as EnvelopeError).code;
    }
    throw new Error("did not throw");
  };

  test("a value moved to another column (purpose) does not open", () => {
    const ring = createKeyring([K1]);
    const sealed = seal(ring, "patients.email", "ada@example.com");
    expect(failure(() => open(ring, "patients.phone", sealed))).toBe("decryption_failed");
  });

  test("a changed byte, a relabelled key id, a truncated value or an unknown key is refused", () => {
    const ring = createKeyring([K2, K1]);
    const sealed = seal(ring, "p", "secret");
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 20]! ^= 1;
    expect(failure(() => open(ring, "p", flipped))).toBe("decryption_failed");
    // Same length id, other key: the header is authenticated, so it fails even with the right bytes.
    const relabelled = Buffer.from(sealed);
    relabelled[3] = "1".charCodeAt(0);
    expect(failure(() => open(ring, "p", relabelled))).toBe("decryption_failed");
    expect(failure(() => open(ring, "p", sealed.subarray(0, 20)))).toBe("malformed_ciphertext");
    expect(failure(() => open(createKeyring([K1]), "p", sealed))).toBe("unknown_key");
    const v2 = Buffer.from(sealed);
    v2[0] = 2;
    expect(failure(() => open(ring, "p", v2))).toBe("unsupported_version");
  });

  test("errors name the key id and purpose, never the key or the plaintext", () => {
    const sealed = seal(createKeyring([K2]), "patients.email", "ada@example.com");
    try {
      open(createKeyring([K1]), "patients.email", sealed);
    } catch (error) {
      const text = `${(error as Error).message}`;
      expect(text).toContain('"k2"');
      expect(text).not.toContain(K1.key.toString("base64"));
      expect(text).not.toContain("ada@");
    }
  });
});
