-- Two per-row costs of the projector's writes in Postgres (issue #13 item 4). Measured with
-- pg_stat_statements and perf during ops/bench's 100,000-event drain: the insert into patients
-- took 140 µs of Postgres time an event, against 39 µs to COPY the same rows.

-- 1. The client-stamping trigger (011, 016) skips a row that names its client; but a source of
-- the sources file has no client, so its rows name none (null: unassigned), and for each of
-- them (three an event: patient, submission, raw event) the trigger still called plpgsql and
-- looked the source up again, finding nothing: 3.3 µs a row, ~10 µs an event. A writer that
-- has already looked up every row's client, null included, says so for its transaction with
-- set_config('hookline.clients_named', 'on', true) (the projector: declareClientsNamed
-- in shared/db/patients.ts); the WHEN condition reads it without calling the function. Every other
-- writer (the dashboard, older pods during an upgrade) leaves it unset and is stamped as before.
drop trigger patients_client on patients;
create trigger patients_client before insert on patients
  for each row when (new.client_id is null and current_setting('hookline.clients_named', true) is distinct from 'on')
  execute function hookline_stamp_client();
drop trigger form_submissions_client on form_submissions;
create trigger form_submissions_client before insert on form_submissions
  for each row when (new.client_id is null and current_setting('hookline.clients_named', true) is distinct from 'on')
  execute function hookline_stamp_client();
-- On the partitioned parent: dropped from and created on every partition with it.
drop trigger webhook_events_client on webhook_events;
create trigger webhook_events_client before insert on webhook_events
  for each row when (new.client_id is null and current_setting('hookline.clients_named', true) is distinct from 'on')
  execute function hookline_stamp_client();

-- 2. hookline_search_text (012) is a SQL function whose body calls a stable function
-- (concat_ws), so Postgres never inlines it into the statement that calls it: each call ran
-- through the SQL-function executor, 12.7 µs for the patient_search row of every new patient
-- (100,000 calls on this machine). The same expression in plpgsql, planned once a session and
-- evaluated as a simple expression, takes 1.3 µs; hookline_unaccent (sort_name's generated
-- column, every new patient) goes from 1.4 to 0.6 µs. The expressions are the same, so the
-- stored search texts and sort names stay what these functions return.
create or replace function hookline_unaccent(text) returns text
  language plpgsql immutable strict parallel safe
  as $$ begin return public.unaccent('public.unaccent'::regdictionary, $1); end $$;

create or replace function hookline_search_text(first_name text, last_name text, full_name text, city text) returns text
  language plpgsql immutable parallel safe
  as $$
  begin
    return lower(hookline_unaccent(concat_ws(' ', coalesce(full_name, concat_ws(' ', first_name, last_name)), city)));
  end $$;
