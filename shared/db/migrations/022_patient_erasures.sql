-- Erasure tombstones. Erasing a patient removed every row it had, but a webhook of that person
-- answered before the erasure and not yet projected (waiting in WEBHOOKS, or in a projector's
-- batch while the erasure committed) was projected afterwards and created the patient again
-- from its own content. The erasure now leaves the erased email's blind index here, with its
-- client and time, in its own transaction; the projector drops an event naming that email at
-- that client that was received before the erasure (services/projector/erased.ts), and checks
-- again at the end of its batch's transaction, so an erasure that commits while a batch runs
-- rolls that batch back to be retried. A keyed hash of the email, never the email; it goes after
-- ERASURE_TOMBSTONE_DAYS (services/projector/maintenance.ts), longer than a webhook waits.
create table patient_erasures (
  client_key bigint      not null, -- the client's id; 0 for a patient of no client
  email_bidx bytea       not null, -- patients.email_bidx as it was (the key's id is in its header)
  erased_at  timestamptz not null default now(),
  primary key (client_key, email_bidx)
);
-- The projector looks a batch's emails up under every index key (all clients at once).
create index patient_erasures_email on patient_erasures (email_bidx);
create index patient_erasures_erased_at on patient_erasures (erased_at);
