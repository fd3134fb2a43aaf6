-- Patient data sealed at rest (shared/crypto/envelope.ts; README, Security). The services seal
-- values before they reach the database and open them after reading, with keys the database
-- never sees, so a dump, a backup or a replica holds ciphertext only:
-- - patients: the fields marked `encrypted` in shared/patient-fields.ts (email, phone, date of
--   birth, street, postal code) in <column>_enc, and every form answer (which repeats those
--   fields under their labels) in answers_enc. Email and phone are found by exact value through
--   blind indexes (<column>_bidx: HMAC-SHA256 under a separate key); email_bidx is the patient's
--   key, as email was. Names and city stay in clear: the dashboard's name search is a substring
--   search that needs them in an index.
-- - patient_conflicts.submission and form_submissions.answers: sealed whole.
-- Each sealed value and blind index starts with its format version and its key's id
-- (hookline_key_id), so `hookline keys rotate` finds the rows still on an old key.
--
-- The plaintext columns stay, for rows written before this version: they are read while they
-- hold a value, every write clears them, and rows still holding one are sealed by the
-- projector's first start after the upgrade (before it consumes; listed in
-- encryption_backlog) and by `hookline keys rotate`. A later version drops them.
alter table patients
  add column email_enc bytea,
  add column email_bidx bytea,
  add column phone_enc bytea,
  add column phone_bidx bytea,
  add column date_of_birth_enc bytea,
  add column street_enc bytea,
  add column postal_code_enc bytea,
  add column answers_enc bytea,
  alter column answers drop not null,
  alter column answers drop default;
create unique index patients_email_bidx on patients (email_bidx);
create index patients_phone_bidx on patients (phone_bidx) where phone_bidx is not null;
drop index if exists patients_phone;

alter table patient_conflicts add column submission_enc bytea, alter column submission drop not null;
alter table form_submissions add column answers_enc bytea, alter column answers drop not null;

-- The key id in a sealed value's or blind index's header: byte 0 the format version, byte 1
-- the id's length, then the id.
create function hookline_key_id(v bytea) returns text language sql immutable strict parallel safe as $$
  select convert_from(substring(v from 3 for get_byte(v, 1)), 'UTF8')
$$;

-- Tables that held rows in clear when this migration ran; emptied as they are sealed.
create table encryption_backlog (table_name text primary key);
insert into encryption_backlog (table_name)
  select t from (values ('patients'), ('patient_conflicts'), ('form_submissions')) as v(t)
  where (t = 'patients' and exists (select 1 from patients))
     or (t = 'patient_conflicts' and exists (select 1 from patient_conflicts))
     or (t = 'form_submissions' and exists (select 1 from form_submissions));
