// Every migration, embedded as text so that the compiled executable (ops/build) migrates
// with no files beside it. A new NNN_name.sql must be listed here too; a unit test
// (test/unit/migrations-embedded.test.ts) fails when this list and the folder differ.
import m001 from "./001_init.sql" with { type: "text" };
import m002 from "./002_trace_ids.sql" with { type: "text" };
import m003 from "./003_drop_unused_patient_index.sql" with { type: "text" };
import m004 from "./004_patient_conflicts.sql" with { type: "text" };
import m005 from "./005_raw_event_retention.sql" with { type: "text" };
import m006 from "./006_preferred_language.sql" with { type: "text" };
import m007 from "./007_dashboard_tokens.sql" with { type: "text" };
import m008 from "./008_audit_log.sql" with { type: "text" };
import m009 from "./009_encrypted_patient_data.sql" with { type: "text" };
import m010 from "./010_encrypted_raw_events.sql" with { type: "text" };
import m011 from "./011_clients_sources.sql" with { type: "text" };
import m012 from "./012_patient_search.sql" with { type: "text" };
import m013 from "./013_field_mappings.sql" with { type: "text" };
import m014 from "./014_search_triggers_per_statement.sql" with { type: "text" };
import m015 from "./015_client_listing_indexes.sql" with { type: "text" };
import m016 from "./016_projector_writes.sql" with { type: "text" };
import m017 from "./017_search_word_pairs.sql" with { type: "text" };
import m018 from "./018_packed_patient_fields.sql" with { type: "text" };
import m019 from "./019_audit_append.sql" with { type: "text" };
import m020 from "./020_projector_row_costs.sql" with { type: "text" };
import m021 from "./021_search_words_per_client.sql" with { type: "text" };
import m022 from "./022_patient_erasures.sql" with { type: "text" };
import m023 from "./023_canonical_on_guard_row.sql" with { type: "text" };
import m024 from "./024_canonical_moved.sql" with { type: "text" };

/** File name → SQL text. */
export const EMBEDDED_MIGRATIONS: Record<string, string> = {
  "001_init.sql": m001,
  "002_trace_ids.sql": m002,
  "003_drop_unused_patient_index.sql": m003,
  "004_patient_conflicts.sql": m004,
  "005_raw_event_retention.sql": m005,
  "006_preferred_language.sql": m006,
  "007_dashboard_tokens.sql": m007,
  "008_audit_log.sql": m008,
  "009_encrypted_patient_data.sql": m009,
  "010_encrypted_raw_events.sql": m010,
  "011_clients_sources.sql": m011,
  "012_patient_search.sql": m012,
  "013_field_mappings.sql": m013,
  "014_search_triggers_per_statement.sql": m014,
  "015_client_listing_indexes.sql": m015,
  "016_projector_writes.sql": m016,
  "017_search_word_pairs.sql": m017,
  "018_packed_patient_fields.sql": m018,
  "019_audit_append.sql": m019,
  "020_projector_row_costs.sql": m020,
  "021_search_words_per_client.sql": m021,
  "022_patient_erasures.sql": m022,
  "023_canonical_on_guard_row.sql": m023,
  "024_canonical_moved.sql": m024,
};
