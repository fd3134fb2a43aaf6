-- Raw webhook bodies and their canonical form sealed at rest, like the patient data in 009:
-- webhook_events.body_enc and canonical_enc hold what body and canonical held. The plaintext
-- columns stay for rows written before this version (read while they hold a value, sealed by
-- the projector's first start after the upgrade and by `hookline keys rotate`); raw events
-- also leave with their month's partition (RAW_EVENT_RETENTION_MONTHS).
alter table webhook_events
  add column body_enc bytea,
  add column canonical_enc bytea,
  alter column body drop not null,
  alter column canonical drop not null;

insert into encryption_backlog (table_name)
  select 'webhook_events' where exists (select 1 from webhook_events);
