-- Retention of raw events: drops the monthly partitions of webhook_events that lie wholly
-- before `cutoff` and returns their names. The projector's maintenance calls it (one pod at
-- a time) and then deletes the guard rows (webhook_event_ids) older than the same cut-off.
-- Partitions are named and bounded by hookline_ensure_month_partition: webhook_events_YYYY_MM
-- holds [first of that month, first of the next) in UTC.
create function hookline_drop_month_partitions_before(cutoff timestamptz) returns setof text language plpgsql as $$
declare
  part text;
begin
  for part in
    select c.relname::text from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'webhook_events'::regclass
      and c.relname ~ '^webhook_events_\d{4}_\d{2}$'
      and ((to_date(substr(c.relname, 16), 'YYYY_MM') + interval '1 month')::timestamp at time zone 'UTC') <= cutoff
    order by c.relname
  loop
    execute format('drop table %I', part);
    return next part;
  end loop;
end $$;
