// Dashboard API tokens kept in Postgres (migration 007): their format, and creating, listing,
// revoking and finding them. Only SHA-256 digests are stored (why not a slow password hash:
// see the migration). Used by the dashboard (token-lookup.ts) and `ops/hookline tokens`.
//
// Format: "hl_" + base64url(32 random bytes) + base64url(CRC-32 of those bytes), 52 characters.
// The prefix lets secret scanners (GitHub push protection, gitleaks, trufflehog) recognize a
// leaked token by TOKEN_PATTERN; the checksum lets them, and the dashboard, tell a real token
// from a random or mistyped string without a database query.
import { createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import type { ISql } from "postgres";
import { isRole, type Role } from "../../shared/auth/roles.ts";
import { isRowId } from "../../shared/db/row-id.ts";

const PREFIX = "hl_";
const RANDOM_BYTES = 32;
/** A connection pool or a transaction (creating and revoking are audited in the caller's transaction). */
type Sql = ISql;

/** For secret scanners (documented in the README): a token anywhere in text. */
export const TOKEN_PATTERN = "\\bhl_[A-Za-z0-9_-]{49}(?![A-Za-z0-9_-])";

const checksum = (random: Buffer) => {
  const sum = Buffer.alloc(4);
  sum.writeUInt32BE(crc32(random));
  return sum.toString("base64url");
};

/** A new token: shown once to whoever creates it, never stored. */
export function newToken(): string {
  const random = randomBytes(RANDOM_BYTES);
  return `${PREFIX}${random.toString("base64url")}${checksum(random)}`;
}

/** Whether `token` has this format and its checksum matches (says nothing about whether it exists). */
export function wellFormedToken(token: string): boolean {
  if (!/^hl_[A-Za-z0-9_-]{49}$/.test(token)) return false;
  const random = Buffer.from(token.slice(PREFIX.length, PREFIX.length + 43), "base64url");
  // base64url of 32 bytes is 43 characters whose last carries 2 unused bits: compare the
  // re-encoding too, so exactly one text stands for each token.
  return random.toString("base64url") === token.slice(3, 46) && checksum(random) === token.slice(46);
}

export const tokenDigest = (token: string): Buffer => createHash("sha256").update(token).digest();

/** Names start with a letter (so that `revoke 42` is an id), plain characters, at most 64. */
export const validTokenName = (name: string) => /^[A-Za-z][A-Za-z0-9._-]{0,63}$/.test(name);

class TokenUsageError extends Error {
  readonly code = "usage";
}

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
const MAX_LIFETIME_MS = 3650 * 86_400_000;

/** "90d", "12h", "30m", "2w" → milliseconds; anything else (or over ten years) throws code "usage". */
export function parseExpiresIn(text: string): number {
  const match = /^([1-9]\d{0,5})([mhdw])$/.exec(text);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : Number.NaN;
  if (!(ms <= MAX_LIFETIME_MS))
    throw new TokenUsageError(`--expires-in must be a whole number of m, h, d or w up to 3650d, e.g. 90d: ${text}`);
  return ms;
}

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  createdBy: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  expiresAt: string | null;
  /** The one client this token sees (migration 011); null: every client. */
  clientId: string | null;
}

/** A token that may be used now, as the dashboard needs it. */
export interface ActiveToken {
  id: string;
  name: string;
  role: Role;
  /** Epoch ms, or null for no expiry. */
  expiresAt: number | null;
  /** Set for a client-scoped token: its queries run under that client (scope.ts). */
  clientId: string | null;
}

const COLUMNS = "id, name, role, created_at, created_by, last_used_at, revoked_at, expires_at, client_id";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toRecord(r: Record<string, unknown>): TokenRecord {
  return {
    id: String(r.id),
    name: r.name as string,
    role: r.role as Role,
    createdAt: (r.created_at as Date).toISOString(),
    createdBy: r.created_by as string,
    lastUsedAt: iso(r.last_used_at as Date | null),
    revokedAt: iso(r.revoked_at as Date | null),
    expiresAt: iso(r.expires_at as Date | null),
    clientId: r.client_id == null ? null : String(r.client_id),
  };
}

class TokenError extends Error {
  constructor(
    readonly code: "token_name_taken" | "invalid_token_name" | "invalid_role" | "client_not_found",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Stores a new token's digest; returns the token (the only time it exists outside the
 * caller's hands) and its record. Pass a transaction to record an audit entry with it.
 */
export async function createToken(
  sql: Sql,
  input: { name: string; role: string; createdBy: string; expiresInMs?: number; clientId?: string },
): Promise<{ token: string; record: TokenRecord }> {
  if (!validTokenName(input.name))
    throw new TokenError("invalid_token_name", "a token name starts with a letter: letters, digits, . _ - (max 64)");
  if (!isRole(input.role)) throw new TokenError("invalid_role", "role must be viewer, editor or admin");
  if (input.clientId !== undefined && !isRowId(input.clientId))
    throw new TokenError("client_not_found", "a client is named by its id, a number (GET /api/v1/clients)");
  const token = newToken();
  const expiresAt =
    input.expiresInMs === undefined ? null : sql`now() + ${`${input.expiresInMs} milliseconds`}::interval`;
  try {
    const [row] = await sql`
      insert into dashboard_tokens (name, role, hash, created_by, expires_at, client_id)
      values (${input.name}, ${input.role}, ${tokenDigest(token)}, ${input.createdBy}, ${expiresAt},
        ${input.clientId ?? null}::bigint)
      returning ${sql.unsafe(COLUMNS)}`;
    return { token, record: toRecord(row!) };
  } catch (error) {
    if ((error as { code?: string }).code === "23505")
      throw new TokenError("token_name_taken", `a live token is named ${input.name} (revoke it first)`, {
        cause: error,
      });
    if ((error as { code?: string }).code === "23503")
      throw new TokenError("client_not_found", `no client ${input.clientId}`, { cause: error });
    throw error;
  }
}

/** Every token, revoked and expired ones too, oldest first. Never a token or its digest. */
export async function listTokens(sql: Sql): Promise<TokenRecord[]> {
  const rows = await sql`select ${sql.unsafe(COLUMNS)} from dashboard_tokens order by id`;
  return rows.map(toRecord);
}

const byIdOrName = (sql: Sql, idOrName: string) =>
  isRowId(idOrName) ? sql`id = ${idOrName}::bigint` : sql`name = ${idOrName}`;

/**
 * Revokes the live token with this id or name. `already` when it was revoked before (the
 * newest of that name); null when there is no such token.
 */
export async function revokeToken(
  sql: Sql,
  idOrName: string,
): Promise<{ record: TokenRecord; already: boolean } | null> {
  const [row] = await sql`
    update dashboard_tokens set revoked_at = now()
    where revoked_at is null and ${byIdOrName(sql, idOrName)}
    returning ${sql.unsafe(COLUMNS)}`;
  if (row) return { record: toRecord(row), already: false };
  const [earlier] = await sql`
    select ${sql.unsafe(COLUMNS)} from dashboard_tokens where ${byIdOrName(sql, idOrName)} order by id desc limit 1`;
  return earlier ? { record: toRecord(earlier), already: true } : null;
}

/** The unrevoked token with this digest (expiry is the caller's to check, against its clock). */
export async function findToken(sql: Sql, digest: Buffer): Promise<ActiveToken | null> {
  const [row] = await sql`
    select id, name, role, expires_at, client_id from dashboard_tokens where hash = ${digest} and revoked_at is null`;
  if (!row) return null;
  return {
    id: String(row.id),
    name: row.name,
    role: row.role,
    expiresAt: row.expires_at?.getTime() ?? null,
    clientId: row.client_id == null ? null : String(row.client_id),
  };
}

/** Notes a use: written only when the stored time is over a minute old, whichever pod asks. */
export async function touchToken(sql: Sql, id: string): Promise<void> {
  await sql`
    update dashboard_tokens set last_used_at = now()
    where id = ${id}::bigint and (last_used_at is null or last_used_at < now() - interval '1 minute')`;
}
