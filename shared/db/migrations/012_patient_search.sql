-- Patient search and listing at a million rows (services/dashboard/patient-search.ts, README
-- "Dashboard API"). Names and city are in clear by design (009): they are searched here;
-- email and phone stay sealed and are found by exact value through their blind indexes.
--
-- Both extensions are trusted (PostgreSQL 13+): the database owner can create them without
-- being a superuser.
create extension if not exists unaccent;
create extension if not exists pg_trgm;

-- unaccent() is only STABLE (it reads its dictionary through the search path), so it cannot
-- appear in an index or a generated column. Naming the dictionary and the function by schema
-- makes the result depend on its argument alone, which is what IMMUTABLE promises.
create function hookline_unaccent(text) returns text
  language sql immutable strict parallel safe
  as $$ select public.unaccent('public.unaccent'::regdictionary, $1) $$;

-- What a name search matches: the names and city, lower-cased, accents folded (Müller → muller,
-- Sørensen → sorensen, ß → ss). The whole name when the form gave one, else first + last.
create function hookline_search_text(first_name text, last_name text, full_name text, city text) returns text
  language sql immutable parallel safe
  as $$ select lower(hookline_unaccent(concat_ws(' ', coalesce(full_name, concat_ws(' ', first_name, last_name)), city))) $$;

-- Stored, so the indexes below and the ranking read one short column; the projector's writes
-- keep it current without knowing about it.
alter table patients
  add column search_text text generated always as (hookline_search_text(first_name, last_name, full_name, city)) stored;

-- Word prefixes ("schmi" finds Schmidt and Schmitz): full-text, 'simple' configuration because
-- names must not be stemmed.
create index patients_search_fts on patients using gin (to_tsvector('simple'::regconfig, search_text));
-- Typos ("Mueler", "Shmidt"): trigram similarity.
create index patients_search_trgm on patients using gin (search_text gin_trgm_ops);

-- Keyset listings: each sort key with id as the tie-breaker (id desc is the primary key).
create index patients_submitted on patients (submitted_at, id);
create index patients_name_sort on patients ((lower(coalesce(last_name, ''))), id);
create index patients_source_form on patients (source, form_id, id);

-- A patient's timeline (GET /api/v1/patients/:id) and the merge of two patients.
create index form_submissions_patient on form_submissions (patient_id, submitted_at);

-- Manual edits (PATCH /api/v1/patients/:id): field name → when it was edited. A submission
-- older than the edit does not overwrite that field (shared/db/patient-merge.ts).
alter table patients add column manual_edits jsonb not null default '{}';
