// Sealing values at rest: AES-256-GCM under a key of the keyring, in a self-describing,
// versioned format, so any reader holding the keyring can tell which key sealed a value and
// rotation can find the values still sealed by an old one.
//
// Format, version 1:
//   byte 0        version (1)
//   byte 1        n, the key id's length (1-32)
//   bytes 2..n+1  key id (ASCII)
//   24 bytes      random nonce
//   ...           ciphertext (as long as the plaintext)
//   16 bytes      GCM tag
//
// The cipher is XAES-256-GCM (c2sp.org/XAES-256-GCM): AES-256-GCM with a 96-bit nonce under a
// key derived per value from the data key and the first half of the 192-bit nonce (AES-CMAC
// based, two AES block operations). Plain AES-256-GCM with random 96-bit nonces may seal only
// 2^32 values under one key before a nonce repeats with a probability NIST no longer accepts;
// at ~15 sealed values a webhook that is about 200 days at 1,000 webhooks a minute, less than
// a rotation period at larger loads. XAES-256-GCM lifts that bound out of reach (2^80 values).
//
// The additional authenticated data is the header (version and key id) and the value's
// purpose ("patients.email", "webhook_events.body", ...): a ciphertext copied into another
// column, or given another key id, fails to open.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { DataKey, Keyring } from "./keyring.ts";

const VERSION = 1;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;

export class EnvelopeError extends Error {
  constructor(
    readonly code: "unknown_key" | "unsupported_version" | "malformed_ciphertext" | "decryption_failed",
    message: string,
  ) {
    super(message);
    this.name = "EnvelopeError";
  }
}

/**
 * Per data key: AES-256 in ECB (one block at a time, no chaining), the CMAC subkey K1, and
 * M1 ^ K1 || M2 ^ K1 with the nonce's bytes still zero (`masked`), so deriving a key takes
 * only the nonce's 12 bytes xored in twice.
 */
interface Deriver {
  ecb: ReturnType<typeof createCipheriv>;
  k1: Buffer;
  masked: Buffer;
  /** Scratch for the two blocks (one derivation at a time: all of this runs synchronously). */
  m: Buffer;
}
const derivers = new WeakMap<Buffer, Deriver>();

function deriverOf(key: Buffer): Deriver {
  let d = derivers.get(key);
  if (!d) {
    const ecb = createCipheriv("aes-256-ecb", key, null).setAutoPadding(false);
    // K1 = L << 1, xor 0x87 when L's top bit was set (L = AES-256(key, 0^128)).
    const l = ecb.update(Buffer.alloc(16));
    const k1 = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) k1[i] = ((l[i]! << 1) | (i < 15 ? l[i + 1]! >> 7 : 0)) & 0xff;
    if (l[0]! & 0x80) k1[15]! ^= 0x87;
    // M1 = 0x00 0x01 "X" 0x00 || nonce[0:12], M2 = 0x00 0x02 "X" 0x00 || nonce[0:12].
    const masked = Buffer.alloc(32);
    masked[1] = 1;
    masked[2] = 0x58; // "X"
    masked[17] = 2;
    masked[18] = 0x58;
    for (let i = 0; i < 32; i++) masked[i]! ^= k1[i % 16]!;
    d = { ecb, k1, masked, m: Buffer.alloc(32) };
    derivers.set(key, d);
  }
  return d;
}

/** XAES-256-GCM's derived key for the first 12 bytes of the nonce: AES(K, M1 ^ K1) || AES(K, M2 ^ K1). */
function derivedKey(key: Buffer, nonce: Uint8Array): Buffer {
  const { ecb, masked, m } = deriverOf(key);
  masked.copy(m);
  for (let i = 0; i < 12; i++) {
    m[4 + i]! ^= nonce[i]!;
    m[20 + i]! ^= nonce[i]!;
  }
  return ecb.update(m);
}

/** XAES-256-GCM: ciphertext || tag, written into `out` at `at` (allocated to fit when not given). */
export function xaesSeal(
  key: Buffer,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  out = Buffer.allocUnsafe(plaintext.length + TAG_BYTES),
  at = 0,
): Buffer {
  const gcm = createCipheriv("aes-256-gcm", derivedKey(key, nonce), nonce.subarray(12, 24));
  gcm.setAAD(aad);
  const body = gcm.update(plaintext);
  body.copy(out, at);
  gcm.final(); // GCM holds nothing back: the ciphertext came whole from update
  gcm.getAuthTag().copy(out, at + body.length);
  return out;
}

/** XAES-256-GCM's inverse; throws when the tag does not verify. */
export function xaesOpen(key: Buffer, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  const gcm = createDecipheriv("aes-256-gcm", derivedKey(key, nonce), nonce.subarray(12, 24));
  gcm.setAAD(aad);
  gcm.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([gcm.update(sealed.subarray(0, sealed.length - TAG_BYTES)), gcm.final()]);
}

/** Version byte, id length, id: the part of a sealed value (and of a blind index) that names its key. */
export function keyHeader(version: number, id: string): Buffer {
  const idBytes = Buffer.from(id, "ascii");
  return Buffer.concat([Buffer.from([version, idBytes.length]), idBytes]);
}

/** The id of the key that sealed `value` (or made a blind index), read from its header. */
export function keyIdOf(value: Uint8Array): string {
  const n = value[1];
  if (value.length < 2 || n === undefined || n === 0 || value.length < 2 + n)
    throw new EnvelopeError("malformed_ciphertext", "the value is too short to name its key");
  return Buffer.from(value.subarray(2, 2 + n)).toString("ascii");
}

/** Per data key: each purpose's header and AAD (header || purpose), built once. */
const aads = new WeakMap<DataKey, Map<string, { header: Buffer; aad: Buffer }>>();

function aadOf(key: DataKey, purpose: string): { header: Buffer; aad: Buffer } {
  let byPurpose = aads.get(key);
  if (!byPurpose) {
    byPurpose = new Map();
    aads.set(key, byPurpose);
  }
  let entry = byPurpose.get(purpose);
  if (!entry) {
    const header = keyHeader(VERSION, key.id);
    entry = { header, aad: Buffer.concat([header, Buffer.from(purpose, "utf8")]) };
    byPurpose.set(purpose, entry);
  }
  return entry;
}

/** Seals `plaintext` for `purpose` with `key` and the given nonce (fixed only in tests' vectors). */
export function sealWith(key: DataKey, purpose: string, plaintext: Uint8Array, nonce: Uint8Array): Buffer {
  const { header, aad } = aadOf(key, purpose);
  // One buffer for the whole value: header, nonce, then the cipher writes ciphertext and tag.
  const out = Buffer.allocUnsafe(header.length + NONCE_BYTES + plaintext.length + TAG_BYTES);
  header.copy(out, 0);
  out.set(nonce, header.length);
  return xaesSeal(key.key, nonce, plaintext, aad, out, header.length + NONCE_BYTES);
}

/**
 * Random nonces, drawn from the operating system's CSPRNG a few hundred at a time (one call
 * a value costs more than the rest of sealing a short one). A nonce is never handed out twice.
 */
const nonces = { pool: Buffer.alloc(0), at: 0 };

function nextNonce(): Buffer {
  if (nonces.at + NONCE_BYTES > nonces.pool.length) {
    nonces.pool = randomBytes(NONCE_BYTES * 512);
    nonces.at = 0;
  }
  const nonce = nonces.pool.subarray(nonces.at, nonces.at + NONCE_BYTES);
  nonces.at += NONCE_BYTES;
  return nonce;
}

/** Seals `plaintext` (UTF-8 when a string) for `purpose` with the keyring's current key. */
export function seal(keyring: Keyring, purpose: string, plaintext: Uint8Array | string): Buffer {
  const bytes = typeof plaintext === "string" ? Buffer.from(plaintext, "utf8") : plaintext;
  return sealWith(keyring.current, purpose, bytes, nextNonce());
}

/** Opens a value sealed for `purpose` with any key of the keyring. */
export function open(keyring: Keyring, purpose: string, sealed: Uint8Array): Buffer {
  if (sealed[0] !== VERSION)
    throw new EnvelopeError("unsupported_version", `sealed value has format version ${sealed[0]}, not ${VERSION}`);
  const id = keyIdOf(sealed);
  const key = keyring.get(id);
  if (!key)
    throw new EnvelopeError(
      "unknown_key",
      `sealed with key "${id}", which the keyring no longer holds (was it removed before "keys rotate" finished?)`,
    );
  const headerEnd = 2 + id.length;
  if (sealed.length < headerEnd + NONCE_BYTES + TAG_BYTES)
    throw new EnvelopeError("malformed_ciphertext", "sealed value is truncated");
  const { aad } = aadOf(key, purpose);
  try {
    return xaesOpen(
      key.key,
      sealed.subarray(headerEnd, headerEnd + NONCE_BYTES),
      sealed.subarray(headerEnd + NONCE_BYTES),
      aad,
    );
  } catch (error) {
    throw Object.assign(
      new EnvelopeError(
        "decryption_failed",
        `a value sealed for ${purpose} does not open: altered, or sealed for another purpose`,
      ),
      { cause: error },
    );
  }
}

/** `open` as UTF-8 text. */
export function openText(keyring: Keyring, purpose: string, sealed: Uint8Array): string {
  return open(keyring, purpose, sealed).toString("utf8");
}
