-- Field-mapping corrections (issue #14): an operator maps a form's field (its label, field id
-- or ref, as the mapper sees it) to a canonical patient field, or to 'ignore' (not patient
-- data). They overlay the sources file's per-form mappings and win over every heuristic.
--
-- form_mappings holds each form's current mapping and its version; form_mapping_versions every
-- version ever saved (append-only: the history, and what suggestions learn from). A save
-- notifies channel hookline_field_mappings (payload: {"source","formId","version"}), which every
-- projector pod listens on to apply the new mapping to the next event, without a restart.
create table form_mappings (
  source     text not null,
  form_id    text not null,
  version    bigint not null check (version > 0),
  -- field key → canonical field name or 'ignore'
  fields     jsonb not null default '{}',
  updated_by text not null,
  updated_at timestamptz not null default now(),
  primary key (source, form_id)
);

create table form_mapping_versions (
  source     text not null,
  form_id    text not null,
  version    bigint not null,
  fields     jsonb not null,
  -- what this version changed: field key → new target, null where a correction was removed
  changes    jsonb not null,
  changed_by text not null,
  changed_at timestamptz not null default now(),
  primary key (source, form_id, version)
);
