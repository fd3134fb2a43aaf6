-- The canonical field preferredLanguage (shared/patient-fields.ts).
alter table patients add column preferred_language text;
