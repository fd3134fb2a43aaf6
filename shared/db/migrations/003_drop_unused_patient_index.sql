-- Patients are listed newest first by id; nothing reads patients by updated_at, and the
-- index cost a write on every upsert.
drop index if exists patients_updated;
