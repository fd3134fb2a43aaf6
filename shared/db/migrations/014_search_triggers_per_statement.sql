-- 012's search triggers, per statement where rows are added: the projector writes a batch of
-- patients in one statement, and the row triggers cost more than the insert itself (20,000 new
-- patients: 2.65 s with them, 0.33 s without; the words trigger alone about 1.1 s). Rows added
-- are now handled in one statement over the transition table; updates keep a row trigger (a
-- trigger on a column list cannot have a transition table) but do nothing when what search
-- reads did not change, which is the common case: a repeat submission rewrites the row with
-- the same names.
drop trigger patients_search_insert on patients;
create function hookline_patient_search_insert() returns trigger language plpgsql as $$
begin
  insert into patient_search (id, client_id, search_text)
    select i.id, i.client_id, hookline_search_text(i.first_name, i.last_name, i.full_name, i.city) from inserted i
    on conflict (id) do update set client_id = excluded.client_id, search_text = excluded.search_text;
  return null;
end $$;
create trigger patients_search_insert after insert on patients referencing new table as inserted
  for each statement execute function hookline_patient_search_insert();

create or replace function hookline_patient_search_sync() returns trigger language plpgsql as $$
begin
  if (old.first_name, old.last_name, old.full_name, old.city, old.client_id)
     is not distinct from (new.first_name, new.last_name, new.full_name, new.city, new.client_id) then
    return null;
  end if;
  insert into patient_search (id, client_id, search_text)
    values (new.id, new.client_id, hookline_search_text(new.first_name, new.last_name, new.full_name, new.city))
    on conflict (id) do update set client_id = excluded.client_id, search_text = excluded.search_text;
  return null;
end $$;

drop trigger patient_search_words on patient_search;
create function hookline_search_words_insert() returns trigger language plpgsql as $$
begin
  insert into patient_search_words (word)
    select distinct w.lexeme from added a, unnest(a.search_vector) w on conflict do nothing;
  return null;
end $$;
create trigger patient_search_words_insert after insert on patient_search referencing new table as added
  for each statement execute function hookline_search_words_insert();

create or replace function hookline_search_words_sync() returns trigger language plpgsql as $$
begin
  if tg_op = 'UPDATE' and old.search_vector = new.search_vector then
    return null;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    delete from patient_search_words w
      where w.word in (select lexeme from unnest(old.search_vector))
        and not exists (select 1 from patient_search s
          where s.search_vector @@ to_tsquery('simple'::regconfig, quote_literal(w.word)));
  end if;
  if tg_op = 'UPDATE' then
    insert into patient_search_words (word)
      select lexeme from unnest(new.search_vector) on conflict do nothing;
  end if;
  return null;
end $$;
create trigger patient_search_words after update or delete on patient_search
  for each row execute function hookline_search_words_sync();
