-- Raw events, partitioned by month of receipt. A partitioned table's unique keys must
-- include the partition key, so cross-partition uniqueness of event_id is enforced by
-- the small unpartitioned guard table webhook_event_ids: the projector inserts there
-- first (ON CONFLICT DO NOTHING) and writes only the events that were new.
create table webhook_event_ids (
  event_id    text primary key,
  received_at timestamptz not null
);

create table webhook_events (
  event_id          text not null,
  received_at       timestamptz not null,
  source            text not null,
  stream_seq        bigint,
  content_type      text,
  provider_event_id text,
  form_id           text,
  submitted_at      timestamptz,
  patient_id        bigint,
  body              text not null,
  canonical         jsonb not null,
  projected_at      timestamptz not null default now(),
  primary key (event_id, received_at)
) partition by range (received_at);

create index webhook_events_source_received on webhook_events (source, received_at desc);
create index webhook_events_received on webhook_events (received_at desc);

-- Creates the month's partition if missing. Serialized by an advisory lock so two
-- projectors meeting a new month at once do not race on the catalog.
create function hookline_ensure_month_partition(ts timestamptz) returns void language plpgsql as $$
declare
  month_start date := date_trunc('month', ts at time zone 'UTC')::date;
  name text := format('webhook_events_%s', to_char(month_start, 'YYYY_MM'));
begin
  if to_regclass(name) is not null then return; end if;
  perform pg_advisory_xact_lock(hashtext('hookline_partition'));
  execute format(
    'create table if not exists %I partition of webhook_events for values from (%L) to (%L)',
    name, (month_start::timestamp at time zone 'UTC'), ((month_start + interval '1 month')::timestamp at time zone 'UTC'));
end $$;

select hookline_ensure_month_partition(now());
select hookline_ensure_month_partition(now() + interval '1 month');

-- One row a person, keyed by normalized (lower-cased) email when there is one.
create table patients (
  id             bigserial primary key,
  email          text unique,
  first_name     text,
  last_name      text,
  full_name      text,
  phone          text,
  date_of_birth  date,
  gender         text,
  street         text,
  postal_code    text,
  city           text,
  country        text,
  consent        boolean,
  source         text not null,
  form_id        text,
  answers        jsonb not null default '{}',
  first_event_id text not null,
  last_event_id  text not null,
  events_count   int not null default 1,
  submitted_at   timestamptz not null,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  constraint patients_email_lower check (email = lower(email))
);
create index patients_updated on patients (updated_at desc, id desc);
create index patients_phone on patients (phone) where phone is not null;

-- Form-specific data: every submission with its answers, and the questions seen per form.
create table form_submissions (
  event_id     text primary key,
  source       text not null,
  form_id      text not null,
  patient_id   bigint references patients (id) on delete set null,
  submitted_at timestamptz not null,
  answers      jsonb not null,
  created_at   timestamptz not null default now()
);
create index form_submissions_form on form_submissions (source, form_id, submitted_at desc);

create table form_questions (
  source        text not null,
  form_id       text not null,
  label         text not null,
  field_id      text,
  field_type    text,
  first_seen    timestamptz not null default now(),
  last_seen     timestamptz not null default now(),
  answers_count bigint not null default 0,
  primary key (source, form_id, label)
);
