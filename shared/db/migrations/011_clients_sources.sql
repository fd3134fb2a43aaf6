-- Clients and the sources created for them at runtime (services/dashboard/clients.ts), the
-- client of every patient, submission and raw event, and row-level security that keeps a
-- client-scoped caller to its client's rows (services/dashboard/scope.ts; README, Clients and
-- sources).
--
-- A client is an organisation whose forms post to hookline; it owns one or more sources.
create table clients (
  id         bigint generated always as identity primary key,
  name       text not null check (length(btrim(name)) between 1 and 200),
  created_at timestamptz not null default now()
);
-- One client a name, whatever its case: "Add New Client" twice by mistake is a 409.
create unique index clients_name on clients (lower(btrim(name)));

-- Sources created at runtime. The sources file (HOOKLINE_SOURCES) still defines sources too and
-- wins for the names it defines (GitOps); a name it defines cannot be created here.
-- secrets_enc: the source's secrets (current first, then the previous one while it overlaps),
-- sealed whole with the data keyring (shared/crypto/envelope.ts, purpose "sources.secrets"):
-- JSON [{"value": "...", "expiresAt": null | ISO time}].
create table sources (
  name        text primary key check (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  type        text not null check (type in ('heyflow', 'typeform', 'google-forms', 'generic')),
  client_id   bigint not null references clients (id),
  secrets_enc bytea not null,
  enabled     boolean not null default true,
  created_at  timestamptz not null default now(),
  rotated_at  timestamptz,
  updated_at  timestamptz not null default now()
);
create index sources_client on sources (client_id);

-- The client of each row. Rows written before this version, and rows of sources defined only
-- in the sources file, have none (null: "unassigned"): unscoped callers see them, client-scoped
-- ones never do.
alter table patients add column client_id bigint references clients (id);
alter table form_submissions add column client_id bigint references clients (id);
alter table webhook_events add column client_id bigint;
create index patients_client on patients (client_id, id desc) where client_id is not null;

-- Patients are deduplicated within a client, not across clients: the same email at two clients
-- is two patients (each client's data stays its own). The key was the email's blind index alone
-- (009); unassigned rows (no client) count as one client, 0.
drop index patients_email_bidx;
create unique index patients_client_email_bidx on patients ((coalesce(client_id, 0)), email_bidx);
create index form_submissions_client on form_submissions (client_id) where client_id is not null;

-- The projector does not name clients: a new row takes its source's client, found here, so a
-- source created at runtime stamps its client on everything it delivers without the projector
-- knowing about clients (a primary-key lookup per row; sources is small and stays cached).
create function hookline_stamp_client() returns trigger language plpgsql as $$
begin
  if new.client_id is null then
    select s.client_id into new.client_id from sources s where s.name = new.source;
  end if;
  return new;
end $$;
create trigger patients_client before insert on patients
  for each row execute function hookline_stamp_client();
create trigger form_submissions_client before insert on form_submissions
  for each row execute function hookline_stamp_client();
create trigger webhook_events_client before insert on webhook_events
  for each row execute function hookline_stamp_client();

-- Dashboard tokens scoped to one client (`hookline tokens create --client ID`): 007 reserved
-- client_scope as text; it becomes a reference to the client.
alter table dashboard_tokens drop column client_scope;
alter table dashboard_tokens add column client_id bigint references clients (id);

-- Row-level security. The caller's client is a per-transaction setting, hookline.client_id,
-- set by withScope (services/dashboard/scope.ts) with set_config(..., true), so it ends with the
-- transaction and never leaks to the next user of a pooled connection. Unset or empty: unscoped
-- (the services, the CLI, unscoped tokens). Set: every statement of the transaction sees and
-- writes only that client's rows, whatever its WHERE clause says.
--
-- FORCE: the services connect as the tables' owner (ops/lib.sh's role cannot create a narrower
-- one), and an owner is exempt from its tables' policies unless forced.
-- The setting is read once a statement, as a sub-select (an InitPlan), not once a row: on a scan of
-- 1,000,000 rows the policy then cost ~30% over none instead of ~100% (count(*), this machine).
-- A scoped caller's query should still name its client (client_id = …) so that an index on
-- client_id is used: the policy guarantees the rows, the WHERE clause makes it fast.
create function hookline_scope_client() returns bigint language sql stable parallel safe as $$
  select nullif(current_setting('hookline.client_id', true), '')::bigint
$$;

alter table patients enable row level security, force row level security;
create policy client_scope on patients
  using ((select hookline_scope_client()) is null or client_id = (select hookline_scope_client()));

alter table form_submissions enable row level security, force row level security;
create policy client_scope on form_submissions
  using ((select hookline_scope_client()) is null or client_id = (select hookline_scope_client()));

-- On the partitioned parent: queries through webhook_events are filtered (the services never
-- name a partition).
alter table webhook_events enable row level security, force row level security;
create policy client_scope on webhook_events
  using ((select hookline_scope_client()) is null or client_id = (select hookline_scope_client()));

-- A conflict belongs to its patient's client: visible when the patient is (the subquery is
-- itself under the patients policy).
alter table patient_conflicts enable row level security, force row level security;
create policy client_scope on patient_conflicts
  using ((select hookline_scope_client()) is null or exists (select 1 from patients p where p.id = patient_id));

alter table clients enable row level security, force row level security;
create policy client_scope on clients
  using ((select hookline_scope_client()) is null or id = (select hookline_scope_client()));

alter table sources enable row level security, force row level security;
create policy client_scope on sources
  using ((select hookline_scope_client()) is null or client_id = (select hookline_scope_client()));
