-- The audit trail (shared/audit/): who read or changed what, and the receipt of every webhook.
-- No patient data: entities are named by id, and their states before and after a change only
-- by SHA-256 of their canonical JSON. Each row's hash covers the previous row's hash and its
-- own fields (shared/audit/chain.ts), so a changed, removed or reordered row breaks the chain
-- (`ops/hookline audit verify`).
--
-- seq is assigned by the writer as the previous row's seq + 1 under the append lock, not
-- by a sequence: a sequence leaves gaps where a transaction rolled back, and a gap must mean
-- a removed row.
create table audit_log (
  seq            bigint primary key check (seq > 0),
  at             timestamptz not null,
  -- 'token:<id>' / a token's name, 'system', 'projector', 'cli:<user>'
  actor          text not null,
  action         text not null,
  entity_type    text not null,
  entity_id      text,
  changed_fields text[] not null default '{}',
  before_hash    bytea check (octet_length(before_hash) = 32),
  after_hash     bytea check (octet_length(after_hash) = 32),
  details        jsonb not null default '{}',
  prev_hash      bytea not null check (octet_length(prev_hash) = 32),
  hash           bytea not null check (octet_length(hash) = 32)
);
-- Reports select by time. `at` grows with seq (both are taken under the append lock), so a
-- BRIN index finds a range for almost nothing per insert, unlike a B-tree.
create index audit_log_at on audit_log using brin (at);

-- The time as hashed: UTC with microseconds, as text, so the writer (which hashes it before
-- the row exists) and the verifier (which reads it back) see exactly the same characters.
create function hookline_audit_time(t timestamptz) returns text language sql immutable as $$
  select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- Takes the append lock and returns the chain's head (null seq and hash on an empty chain)
-- and the time for the rows about to be appended. The lock is transaction-level: it is held
-- until the caller commits, so the next appender reads a head that includes these rows and
-- concurrent writers (several projector and dashboard pods) never fork the chain. Take it as
-- the last thing a transaction does: everything after it waits for this commit. Under
-- REPEATABLE READ or SERIALIZABLE the head read would come from the transaction's older
-- snapshot, so those are refused.
create function hookline_audit_head(out head_seq bigint, out head_hash bytea, out now_text text)
language plpgsql as $$
begin
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'audit_log is appended under read committed only' using errcode = '25000';
  end if;
  perform pg_advisory_xact_lock(hashtext('hookline_audit_log'));
  -- A statement after the lock: in READ COMMITTED it sees every append committed before it.
  select a.seq, a.hash into head_seq, head_hash from audit_log a order by a.seq desc limit 1;
  now_text := hookline_audit_time(clock_timestamp());
end $$;

-- Append-only in the database. The trigger refuses UPDATE, DELETE and TRUNCATE for every
-- role, and the privileges are revoked from the role that runs the migrations (the services
-- use it too in this setup; the role cannot create roles, so no narrower one is made here).
-- Neither stops a superuser, nor the table's owner, who may grant the privileges back and
-- disable the trigger: that is why the rows are hash-chained, so such a change is detected.
create function hookline_audit_log_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only: % refused', tg_op using errcode = '42501';
end $$;
create trigger audit_log_append_only before update or delete on audit_log
  for each row execute function hookline_audit_log_refuse_change();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function hookline_audit_log_refuse_change();
revoke update, delete, truncate on audit_log from public, current_user;
