-- An event's canonical form moves from its raw-event row (webhook_events, partitioned by month)
-- to its guard row (webhook_event_ids, one table keyed by event_id). A patient's detail opens
-- the canonical form of each of its submissions to say where each field came from. Joined to
-- the partitioned table, every detail set up (ExecInitAppend) and locked an index scan on every
-- monthly partition, although it wanted one row of one: a nested loop's key prunes partitions
-- only while it runs, after that set-up. Profiled at a million patients over 27 months, that was
-- 17% of the detail statement's Postgres CPU, and the partitions' locks (past the 16 a backend
-- takes cheaply) about 7% more, growing with every month retained.
--
-- The guard row lives as long as the raw event: retention deletes a month's guard rows with its
-- partition (services/projector/maintenance.ts). Erasure deletes the raw event but keeps the
-- guard row, so a redelivery stays a duplicate: deleting a raw event now clears the canonical
-- form on its guard row (the trigger below, whichever version deletes it). The sealed bytes
-- move unchanged, so they stay bound (their AAD) to "webhook_events.canonical", the name
-- shared/db/sealed.ts keeps for them.
--
-- This migration only changes the schema (quickly; it locks webhook_event_ids while it runs);
-- 024 moves the values, without locking either table whole, so projectors keep writing.
alter table webhook_event_ids
  add column canonical_enc bytea,
  add column canonical jsonb; -- in clear: only rows an earlier version wrote before migration 010
-- A sealed canonical form cannot be compressed (see 016): kept in line up to a page, unattempted.
alter table webhook_event_ids set (toast_tuple_target = 8160);

-- A pod of the version before this one, still running during a rolling upgrade (or after a
-- rollback), writes the canonical form with the raw event: a projector inserting it, `hookline
-- reproject` updating it. Moved to the guard row (the projector inserts that first, in the same
-- transaction). The columns stay, always empty, until no such version can be running.
create function hookline_canonical_to_guard_row() returns trigger language plpgsql as $$
begin
  update webhook_event_ids set canonical_enc = new.canonical_enc, canonical = new.canonical
    where event_id = new.event_id;
  new.canonical_enc := null;
  new.canonical := null;
  return new;
end $$;
create trigger webhook_events_canonical_to_guard_row before insert or update of canonical_enc, canonical
  on webhook_events
  for each row when (new.canonical_enc is not null or new.canonical is not null)
  execute function hookline_canonical_to_guard_row();

-- A raw event deleted (an erasure, of this version or the one before) takes its canonical form
-- from the guard row it leaves behind. Retention drops whole partitions, which fires nothing,
-- and deletes their guard rows itself.
create function hookline_clear_guard_row_canonical() returns trigger language plpgsql as $$
begin
  update webhook_event_ids set canonical_enc = null, canonical = null
    where event_id = old.event_id and (canonical_enc is not null or canonical is not null);
  return null;
end $$;
create trigger webhook_events_clear_guard_row_canonical after delete on webhook_events
  for each row execute function hookline_clear_guard_row_canonical();
