-- The canonical forms written before 023 move to their guard rows (see 023). Row locks only:
-- the projector keeps admitting events meanwhile (023's trigger moves what an older one writes).
-- Measured on the bench's 1,364,116 events: about a minute on its 2-core machine, all three
-- statements; the provision Job's deadline (provisionJob.activeDeadlineSeconds, 300 s) may need
-- raising for several million raw events.
update webhook_event_ids i set canonical_enc = e.canonical_enc, canonical = e.canonical
  from webhook_events e
  where e.event_id = i.event_id and e.received_at = i.received_at
    and (e.canonical_enc is not null or e.canonical is not null);
-- A raw event without its guard row (none is written so; a restore might leave one) gets one,
-- with its form: it is then a duplicate if redelivered, as every other.
insert into webhook_event_ids (event_id, received_at, canonical_enc, canonical)
  select e.event_id, e.received_at, e.canonical_enc, e.canonical from webhook_events e
  where (e.canonical_enc is not null or e.canonical is not null)
    and not exists (select 1 from webhook_event_ids i where i.event_id = e.event_id)
  on conflict (event_id) do nothing;
-- Emptied only where moved: a raw event whose guard row names another time keeps its own.
update webhook_events e set canonical_enc = null, canonical = null
  from webhook_event_ids i
  where i.event_id = e.event_id and i.received_at = e.received_at
    and (e.canonical_enc is not null or e.canonical is not null);
-- Forms still in clear (rows from before 010) are sealed by the projector's next start.
insert into encryption_backlog (table_name)
  select 'webhook_event_ids' where exists (select 1 from webhook_event_ids where canonical is not null)
  on conflict do nothing;
