-- The words a name search knows, kept per client. A search decides for each typed word whether
-- it starts known words (a prefix) or starts none and stands for the words it resembles (a typo),
-- and decided that on one list shared by every client (012, 014). So a client-scoped token's
-- search answered according to other clients' patients: a scoped viewer's "kovacz" found its
-- Ana Kovac until another client's patient was named Kovaczyk, and then nothing, which tells
-- the viewer that someone at another clinic has a name starting "kovacz". Keyed by client
-- (client_key: the client's id; 0 for patients of no client, as ids start at 1), a scoped
-- search reads its own client's words only (services/dashboard/patient-list.ts); an unscoped one
-- reads all of them, each word once. No row-level security here, as on patient_search (012):
-- the trigram operator is not leakproof, so under a policy its index could not be used.
drop trigger patient_search_words on patient_search;
drop trigger patient_search_words_insert on patient_search;
drop table patient_search_words;

create table patient_search_words (
  client_key bigint not null,
  word       text   not null,
  primary key (client_key, word)
);
-- An unscoped search's prefixes, across clients, in word order.
create index patient_search_words_word on patient_search_words (word);
create index patient_search_words_trgm on patient_search_words using gin (word public.gin_trgm_ops);

create or replace function hookline_search_words_insert() returns trigger language plpgsql as $$
begin
  insert into patient_search_words (client_key, word)
    select distinct coalesce(a.client_id, 0), w.lexeme from added a, unnest(a.search_vector) w
    on conflict do nothing;
  return null;
end $$;
create trigger patient_search_words_insert after insert on patient_search referencing new table as added
  for each statement execute function hookline_search_words_insert();

-- A word leaves its client's list when no patient of that client has it any more (erasure, a
-- corrected name, a patient moved to another client).
create or replace function hookline_search_words_sync() returns trigger language plpgsql as $$
begin
  if tg_op = 'UPDATE' and old.search_vector = new.search_vector
      and old.client_id is not distinct from new.client_id then
    return null;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    delete from patient_search_words w
      where w.client_key = coalesce(old.client_id, 0)
        and w.word in (select lexeme from unnest(old.search_vector))
        and not exists (select 1 from patient_search s
          where s.search_vector @@ to_tsquery('simple'::regconfig, quote_literal(w.word))
            and coalesce(s.client_id, 0) = w.client_key);
  end if;
  if tg_op = 'UPDATE' then
    insert into patient_search_words (client_key, word)
      select coalesce(new.client_id, 0), lexeme from unnest(new.search_vector) on conflict do nothing;
  end if;
  return null;
end $$;
create trigger patient_search_words after update or delete on patient_search
  for each row execute function hookline_search_words_sync();

insert into patient_search_words (client_key, word)
  select distinct coalesce(s.client_id, 0), w.lexeme from patient_search s, unnest(s.search_vector) w;
analyze patient_search_words;
