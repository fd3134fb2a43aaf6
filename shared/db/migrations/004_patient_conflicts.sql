-- Submissions whose identity fields (first/last name, date of birth) contradict the patient
-- their email matched. Anyone can type someone else's email into a public form, so such a
-- submission is stored (webhook_events, form_submissions, linked to the patient) but none
-- of its values reach the patient until a person accepts it. `submission` holds the
-- submission's canonical values: this table is patient data, as sensitive as `patients`.
create table patient_conflicts (
  id           bigserial primary key,
  patient_id   bigint not null references patients (id) on delete cascade,
  event_id     text not null unique,
  -- canonical names of the identity fields that differ, e.g. {dateOfBirth}
  fields       text[] not null,
  submission   jsonb not null,
  submitted_at timestamptz not null,
  status       text not null default 'open' check (status in ('open', 'accepted', 'dismissed')),
  created_at   timestamptz not null default now(),
  resolved_at  timestamptz,
  constraint patient_conflicts_resolved check ((status = 'open') = (resolved_at is null))
);
create index patient_conflicts_status on patient_conflicts (status, id desc);
create index patient_conflicts_patient on patient_conflicts (patient_id, id desc);
