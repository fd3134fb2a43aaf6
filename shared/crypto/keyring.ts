// Keyrings: the keys that encrypt patient data at rest (envelope.ts) and the separate keys of
// the blind indexes (blind-index.ts). A keyring lists one current key, which every new value
// is sealed or indexed with, and the previous keys still needed to read what they sealed
// until `hookline keys rotate` has moved every row to the current one.
//
// Text form (an environment variable or a file, e.g. a mounted Kubernetes Secret), newest
// first, the first being current:
//   compact: id:base64key:createdAt[,id:base64key:createdAt...]     (commas or newlines)
//   JSON:    [{"id":"...","key":"base64","createdAt":"2026-11-29"}, ...]
// A key is 32 random bytes (AES-256 / HMAC-SHA256), base64; an id is 1-32 of [A-Za-z0-9._-]
// and is stored beside every value it sealed; createdAt (ISO date or time) gives the key's
// age, which /health reports. Errors name where the keyring came from, never a key.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

export interface DataKey {
  readonly id: string;
  /** 32 bytes. */
  readonly key: Buffer;
  readonly createdAt: Date;
}

export interface Keyring {
  /** The key new values are sealed (or indexed) with. */
  readonly current: DataKey;
  /** Every key, current first. */
  readonly keys: readonly DataKey[];
  get(id: string): DataKey | undefined;
}

export class KeyringError extends Error {
  readonly code = "invalid_keyring";
}

const KEY_ID = /^[A-Za-z0-9._-]{1,32}$/;
const BASE64 = /^[A-Za-z0-9+/]{43}=$/; // exactly 32 bytes, standard alphabet, padded

export function createKeyring(keys: readonly DataKey[]): Keyring {
  const byId = new Map(keys.map((k) => [k.id, k]));
  return { current: keys[0]!, keys, get: (id) => byId.get(id) };
}

function parseEntry(raw: { id?: unknown; key?: unknown; createdAt?: unknown }, n: number, where: string): DataKey {
  const at = `${where}: key ${n}`;
  if (typeof raw.id !== "string" || !KEY_ID.test(raw.id))
    throw new KeyringError(`${at}: the id must be 1-32 characters of A-Z a-z 0-9 . _ -`);
  if (typeof raw.key !== "string" || !BASE64.test(raw.key.trim()))
    throw new KeyringError(`${where}: key "${raw.id}" must be 32 bytes in standard base64 (44 characters)`);
  const createdAt = typeof raw.createdAt === "string" ? new Date(raw.createdAt.trim()) : new Date(Number.NaN);
  if (Number.isNaN(createdAt.getTime()))
    throw new KeyringError(`${where}: key "${raw.id}" needs its creation date (ISO 8601), for its age`);
  return { id: raw.id, key: Buffer.from(raw.key.trim(), "base64"), createdAt };
}

/** Parses a keyring's text form; `where` names its source in errors (a variable or file, never the text). */
export function parseKeyring(text: string, where: string): Keyring {
  const trimmed = text.trim();
  if (trimmed === "") throw new KeyringError(`${where} is empty`);
  let entries: { id?: unknown; key?: unknown; createdAt?: unknown }[];
  if (trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      // The parser's message can quote the text: say only that it is not JSON.
      throw new KeyringError(`${where} starts with "[" but is not valid JSON`);
    }
    if (!Array.isArray(parsed) || !parsed.every((e) => e && typeof e === "object"))
      throw new KeyringError(`${where} must be a JSON array of {"id","key","createdAt"} objects`);
    entries = parsed;
  } else {
    entries = trimmed
      .split(/[,\n]/)
      .map((s) => s.trim())
      .filter(Boolean)
      .map((item, i) => {
        // createdAt may be a time with colons of its own: split at the first two only.
        const first = item.indexOf(":");
        const second = item.indexOf(":", first + 1);
        if (first < 0 || second < 0) throw new KeyringError(`${where}: key ${i + 1} is not id:base64key:createdAt`);
        return { id: item.slice(0, first), key: item.slice(first + 1, second), createdAt: item.slice(second + 1) };
      });
  }
  if (entries.length === 0) throw new KeyringError(`${where} holds no key`);
  const keys = entries.map((e, i) => parseEntry(e, i + 1, where));
  const ids = new Set<string>();
  for (const k of keys) {
    if (ids.has(k.id)) throw new KeyringError(`${where}: key id "${k.id}" is listed twice`);
    ids.add(k.id);
  }
  const bytes = new Set<string>();
  for (const k of keys) {
    if (bytes.has(k.key.toString("hex")))
      throw new KeyringError(`${where}: key "${k.id}" repeats the bytes of another key`);
    bytes.add(k.key.toString("hex"));
  }
  return createKeyring(keys);
}

/** Where a keyring comes from: inline text or a file's path (either may be empty). */
export interface KeyringSource {
  /** Name of the inline variable, e.g. HOOKLINE_KEYS; the file variable is the same with _FILE. */
  variable: string;
  inline: string;
  file: string;
  /** Used when both are empty (HOOKLINE_ENV=development's generated dev keyring); else required. */
  devFile?: string;
}

/** Reads a keyring from its variable or its file (one of the two); errors name the variable or path. */
export function loadKeyring(source: KeyringSource): Keyring {
  const { variable, inline, file, devFile } = source;
  if (inline.trim() && file.trim()) throw new KeyringError(`set ${variable} or ${variable}_FILE, not both`);
  if (inline.trim()) return parseKeyring(inline, variable);
  const path = file.trim() || devFile;
  if (!path)
    throw new KeyringError(
      `${variable} or ${variable}_FILE is required (the keys that encrypt patient data at rest; see README, Security)`,
    );
  const where = file.trim() ? `${variable}_FILE (${path})` : `the dev keyring ${path}`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const hint = file.trim() ? "" : " (./ops/up generates it)";
    throw new KeyringError(`${where} cannot be read: ${(error as NodeJS.ErrnoException).code ?? "error"}${hint}`, {
      cause: error,
    });
  }
  return parseKeyring(text, where);
}

/** A new key in the compact text form, to put first in a keyring (ops/up, `hookline keys new`, tests). */
export function newKeyText(id: string, createdAt = new Date()): string {
  if (!KEY_ID.test(id)) throw new KeyringError(`key id "${id}" must be 1-32 characters of A-Z a-z 0-9 . _ -`);
  return `${id}:${randomBytes(32).toString("base64")}:${createdAt.toISOString()}`;
}

/** Whole days since the key was created (for /health's key age). */
export function keyAgeDays(key: DataKey, now = new Date()): number {
  return Math.floor((now.getTime() - key.createdAt.getTime()) / 86_400_000);
}
