// What may be said about a failed database call outside the database (dead-letter headers,
// span status, logs): its codes, never its text. A Postgres message can quote a row value
// (`invalid input syntax for type integer: "…"`, a RAISE in a trigger; the detail quotes
// whole rows), and row values are patient data.
import postgres from "postgres";

// Names of the conditions a write is likely to meet (the rest show their SQLSTATE only).
const CONDITIONS: Record<string, string> = {
  "22001": "string_data_right_truncation",
  "22003": "numeric_value_out_of_range",
  "22007": "invalid_datetime_format",
  "22008": "datetime_field_overflow",
  "22021": "character_not_in_repertoire",
  "22P02": "invalid_text_representation",
  "22P05": "untranslatable_character",
  "23502": "not_null_violation",
  "23503": "foreign_key_violation",
  "23505": "unique_violation",
  "23514": "check_violation",
  "40001": "serialization_failure",
  "40P01": "deadlock_detected",
  "42P01": "undefined_table",
  "42703": "undefined_column",
  "53100": "disk_full",
  "53300": "too_many_connections",
  "54000": "program_limit_exceeded",
  "57P01": "admin_shutdown",
  P0001: "raise_exception",
};

/**
 * A failure as codes: for a Postgres error its SQLSTATE (and condition name), the table,
 * column, constraint and type it names, and the server routine; for any other error its
 * name and code. Never a message.
 */
export function failureReason(error: unknown): string {
  if (error instanceof postgres.PostgresError) {
    const parts = [`postgres ${error.code}`];
    if (CONDITIONS[error.code]) parts.push(CONDITIONS[error.code]!);
    const named = {
      table: error.table_name,
      column: error.column_name,
      constraint: error.constraint_name,
      type: error.type_name,
      routine: error.routine,
    };
    for (const [key, value] of Object.entries(named)) if (value) parts.push(`${key}=${value}`);
    return parts.join(" ");
  }
  const e = error as { name?: unknown; code?: unknown } | null;
  const name = typeof e?.name === "string" ? e.name : "Error";
  return e?.code === undefined ? name : `${name} ${String(e.code)}`;
}
