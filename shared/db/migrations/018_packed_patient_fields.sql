-- A patient's encrypted fields (email, phone, date of birth, street, postal code) sealed
-- together, as one JSON object in fields_enc (shared/db/sealed.ts, PackedColumn), instead of
-- each in its own <column>_enc: one seal a write and one to open a listed row, where there were
-- five. The blind indexes (email_bidx, phone_bidx) stay as they are.
--
-- The per-field columns stay, for rows written before this version, as 009's plaintext columns
-- did: read while fields_enc is empty, cleared by every write, and packed by the projector's
-- first start after the upgrade (before it consumes; listed in encryption_backlog) and by
-- `hookline keys rotate`. A later version drops them, after checking that no row holds a value
-- there (an older pod's write during an upgrade: README "Upgrading across migration 018").
alter table patients add column fields_enc bytea;

insert into encryption_backlog (table_name)
  select 'patients' where exists (
    select 1 from patients
    where email_enc is not null or phone_enc is not null or date_of_birth_enc is not null
       or street_enc is not null or postal_code_enc is not null)
  on conflict do nothing;
