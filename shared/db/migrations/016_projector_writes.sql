-- The projector's writes, cheaper for Postgres (issue #13 item 4; issue #10, encryption's cost).
-- Measured by ops/bench's projector suite, the Postgres backends serving the projector spent
-- 170-190 µs of CPU an event with encryption on, 150 with it off: about as much as the
-- projector itself.

-- 1. 011 stamps each new patient, submission and raw event with its source's client in a
-- plpgsql row trigger (a call and a lookup in sources a row, three rows an event). The
-- projector knows the clients of a batch's sources (it reads them once a batch to key
-- patients) and now names them; the trigger still stamps any row written without one (the
-- dashboard's Add New Client, older writers), and a WHEN condition, checked without calling
-- the function, skips the rest.
drop trigger patients_client on patients;
create trigger patients_client before insert on patients
  for each row when (new.client_id is null) execute function hookline_stamp_client();
drop trigger form_submissions_client on form_submissions;
create trigger form_submissions_client before insert on form_submissions
  for each row when (new.client_id is null) execute function hookline_stamp_client();
-- On the partitioned parent: dropped from and created on every partition with it.
drop trigger webhook_events_client on webhook_events;
create trigger webhook_events_client before insert on webhook_events
  for each row when (new.client_id is null) execute function hookline_stamp_client();

-- 2. A raw event's sealed body and canonical form cannot be compressed (sealed bytes look
-- random), and a row over TOAST's 2 kB target made Postgres try to compress both, fail, and
-- move the body into the TOAST table (a second heap row and index entry): a 1.3 kB form's
-- event paid that, and the same event with encryption off (compressible) did not. Rows up to
-- a page (8160 bytes) now stay in line without a compression attempt; larger ones are
-- toasted as before. Storage parameters belong to each partition (a partitioned table has
-- none), so the months that exist get it here and new months when they are created.
create or replace function hookline_ensure_month_partition(ts timestamptz) returns void language plpgsql as $$
declare
  month_start date := date_trunc('month', ts at time zone 'UTC')::date;
  name text := format('webhook_events_%s', to_char(month_start, 'YYYY_MM'));
begin
  if to_regclass(name) is not null then return; end if;
  perform pg_advisory_xact_lock(hashtext('hookline_partition'));
  execute format(
    'create table if not exists %I partition of webhook_events for values from (%L) to (%L) with (toast_tuple_target = 8160)',
    name, (month_start::timestamp at time zone 'UTC'), ((month_start + interval '1 month')::timestamp at time zone 'UTC'));
end $$;

do $$
declare
  part regclass;
begin
  for part in select i.inhrelid::regclass from pg_inherits i where i.inhparent = 'webhook_events'::regclass loop
    execute format('alter table %s set (toast_tuple_target = 8160)', part);
  end loop;
end $$;
