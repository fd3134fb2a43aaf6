-- Dashboard API tokens (services/dashboard/tokens.ts; `ops/hookline tokens create|list|revoke`).
-- Only a digest of each token is stored, never the token: it is shown once, when created.
--
-- The digest is plain SHA-256, not bcrypt/scrypt/argon2, on purpose. Those are slow so that a
-- guessable password cannot be found from its hash by trying candidates; a token here is 256
-- bits from the operating system's CSPRNG, so there are no candidates to try (2^256 of them)
-- and a fast hash is as safe as a slow one. Fast matters: every API request is checked, and an
-- unkeyed digest lets the token be found by an indexed equality lookup (`hash`), with no
-- per-row salt that would force comparing against every row.
create table dashboard_tokens (
  id           bigint generated always as identity primary key,
  -- Starts with a letter, so `tokens revoke <id|name>` never mistakes a name for an id.
  name         text not null check (name ~ '^[A-Za-z][A-Za-z0-9._-]{0,63}$'),
  role         text not null check (role in ('viewer', 'editor', 'admin')),
  hash         bytea not null unique check (octet_length(hash) = 32),
  created_at   timestamptz not null default now(),
  -- Who created it: 'cli:<login name>' for the operators' CLI.
  created_by   text not null,
  -- Written at most once a minute per token (not on every request): an approximate "last seen".
  last_used_at timestamptz,
  revoked_at   timestamptz,
  expires_at   timestamptz,
  -- Reserved: a later version may restrict a token to one client (e.g. one clinic's data).
  client_scope text,
  constraint dashboard_tokens_expiry_after_creation check (expires_at is null or expires_at > created_at)
);
-- A name names one live token; a revoked token's name may be used again.
create unique index dashboard_tokens_live_name on dashboard_tokens (name) where revoked_at is null;
