// Blind indexes: exact lookups (a patient by email or phone) on values stored only sealed.
// The index of a value is HMAC-SHA256 under a blind-index key (never a data key: knowing the
// index key lets one test guesses against the index, not open anything) over the value as its
// field's normalizer writes it, so "Ada@Example.com" and "ada@example.com" index alike, as
// "+49 170 1234567" and "0170 1234567" do.
//
// Format, version 1: byte 0 version (1), byte 1 the key id's length n, n bytes key id, 32
// bytes HMAC-SHA256(key, purpose || 0x00 || normalized value). The header names the key, as a
// sealed value's does (envelope.ts), so a rebuild finds the rows indexed under an old key;
// the purpose keeps an email's index from matching the same text as a phone.
import { normalizeEmail, normalizePhone } from "../sources/normalize.ts";
import { keyHeader } from "./envelope.ts";
import { hmacSha256 } from "./hmac.ts";
import type { DataKey, Keyring } from "./keyring.ts";

const VERSION = 1;

/** The fields looked up through a blind index, and how each is normalized first (one normalizer a field). */
const NORMALIZERS = {
  email: (value: string) => normalizeEmail(value),
  phone: (value: string) => normalizePhone(value),
} as const;

export type IndexedField = keyof typeof NORMALIZERS;

/** The field's index purpose: its column. */
const purposeOf = (field: IndexedField) => `patients.${field}`;

/** Per key: its header, built once (two indexes a patient write). */
const headers = new WeakMap<DataKey, Buffer>();

/** The index of an already normalized value under `key`. */
export function indexWith(key: DataKey, field: IndexedField, normalized: string): Buffer {
  let header = headers.get(key);
  if (!header) {
    header = keyHeader(VERSION, key.id);
    headers.set(key, header);
  }
  const out = Buffer.allocUnsafe(header.length + 32);
  header.copy(out, 0);
  hmacSha256(key.key, `${purposeOf(field)}\0${normalized}`).copy(out, header.length);
  return out;
}

/** `value` as indexed: normalized by its field's normalizer; null when it is no valid email/phone. */
export function normalizeForIndex(field: IndexedField, value: string): string | null {
  return NORMALIZERS[field](value) ?? null;
}

/** The index to store with a value: under the current key; null for no (or an invalid) value. */
export function blindIndex(keys: Keyring, field: IndexedField, value: string | null | undefined): Buffer | null {
  if (value == null) return null;
  const normalized = normalizeForIndex(field, value);
  return normalized === null ? null : indexWith(keys.current, field, normalized);
}

/**
 * The indexes to look a value up by: one under each key of the keyring, so rows not yet
 * rebuilt under the current key are found during `keys rotate --blind-index`. Empty when the
 * value is no valid email/phone (it can match nothing).
 */
export function lookupIndexes(keys: Keyring, field: IndexedField, value: string): Buffer[] {
  const normalized = normalizeForIndex(field, value);
  return normalized === null ? [] : keys.keys.map((k) => indexWith(k, field, normalized));
}
