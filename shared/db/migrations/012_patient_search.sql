-- Patient search and listing at a million rows (services/dashboard/patient-list.ts, README
-- "Dashboard API"). Names and city are in clear by design (009): they are searched here;
-- email and phone stay sealed and are found by exact value through their blind indexes.
--
-- Both extensions are trusted (PostgreSQL 13+): the database owner can create them without
-- being a superuser. In public, named below by schema: a migration run under another search
-- path (a test's own schema) would otherwise put them there, and a later one would find them
-- gone with that schema.
create extension if not exists unaccent with schema public;
create extension if not exists pg_trgm with schema public;

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

-- The searched text lives beside patients, in patient_search, not in patients itself: patients
-- is under forced row-level security (011), and Postgres evaluates a query's non-leakproof
-- conditions (the full-text @@ and trigram <% operators are not leakproof) only after the
-- policy's, so no index on patients could serve them: at a million rows every search was a
-- sequential scan (3.7 s). patient_search has no policy: the dashboard finds candidate ids in
-- it (filtered by the caller's client when it has one) and reads the patients themselves from
-- patients, under the policy. It holds only what patients holds in clear by design (names,
-- city) and goes with its patient (on delete cascade: erasure, merge).
create table patient_search (
  id          bigint primary key references patients (id) on delete cascade,
  client_id   bigint,
  search_text text not null,
  -- Stored: a full-text match rechecks it per row instead of parsing the text again.
  search_vector tsvector generated always as (to_tsvector('simple'::regconfig, search_text)) stored
);
-- Word prefixes ("schmi" finds Schmidt and Schmitz): full-text, 'simple' configuration because
-- names must not be stemmed.
create index patient_search_fts on patient_search using gin (search_vector);

-- Typos ("Mueler", "Shmidt"): the distinct words of patient_search, with a trigram index. A query
-- word that starts no known word is replaced by the known words it resembles, and the search
-- runs on those through the full-text index (PostgreSQL's documented way to combine pg_trgm
-- with full-text search: a trigram index over a million names is slow, over their distinct
-- words it is small). A word leaves when no patient has it any more (erasure, a corrected name).
create table patient_search_words (word text primary key);
create index patient_search_words_trgm on patient_search_words using gin (word public.gin_trgm_ops);

-- Kept current by the database, so the projector's writes need not know about it.
create function hookline_patient_search_sync() returns trigger language plpgsql as $$
begin
  insert into patient_search (id, client_id, search_text)
    values (new.id, new.client_id, hookline_search_text(new.first_name, new.last_name, new.full_name, new.city))
    on conflict (id) do update set client_id = excluded.client_id, search_text = excluded.search_text;
  return null;
end $$;
create trigger patients_search_insert after insert on patients
  for each row execute function hookline_patient_search_sync();
create trigger patients_search_update after update of first_name, last_name, full_name, city, client_id on patients
  for each row execute function hookline_patient_search_sync();

-- The words of patient_search: new ones added, ones no patient has any more removed.
create function hookline_search_words_sync() returns trigger language plpgsql as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then
    delete from patient_search_words w
      where w.word in (select lexeme from unnest(old.search_vector))
        and not exists (select 1 from patient_search s
          where s.search_vector @@ to_tsquery('simple'::regconfig, quote_literal(w.word)));
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    insert into patient_search_words (word)
      select lexeme from unnest(new.search_vector) on conflict do nothing;
  end if;
  return null;
end $$;
create trigger patient_search_words after insert or update or delete on patient_search
  for each row execute function hookline_search_words_sync();
insert into patient_search (id, client_id, search_text)
  select id, client_id, hookline_search_text(first_name, last_name, full_name, city) from patients;

-- Keyset listings: each sort key with id as the tie-breaker (id desc is the primary key).
create index patients_submitted on patients (submitted_at, id);
-- 003 dropped the (updated_at, id) index as unused; sort=updated uses it now.
create index patients_updated on patients (updated_at, id);
-- sort=name orders by a stored column: patients is under forced row-level security, under
-- which a condition on an expression (lower(...), coalesce(...)) is not leakproof and so never
-- an index condition: the keyset condition of a later page scanned the table (10 s at 1M).
alter table patients
  add column sort_name text generated always as (lower(hookline_unaccent(coalesce(last_name, '')))) stored;
create index patients_name_sort on patients (sort_name, id);
create index patients_form on patients (form_id, id);

-- Search by exact email for a caller of every client: 011 keys patients by (client, email's
-- blind index), which such a lookup cannot use but by scanning the whole index (75 ms at 1M).
create index patients_email_lookup on patients (email_bidx);

-- A patient's timeline (GET /api/v1/patients/:id) and the merge of two patients.
create index form_submissions_patient on form_submissions (patient_id, submitted_at);

-- Manual edits (PATCH /api/v1/patients/:id): field name → when it was edited. A submission
-- older than the edit does not overwrite that field (shared/db/patient-merge.ts).
alter table patients add column manual_edits jsonb not null default '{}';
