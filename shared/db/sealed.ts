// Where patient data is sealed at rest (migrations 009, 010, 018): each table's sealed columns,
// the plaintext column each replaced, and its blind indexes. The projector and the dashboard seal
// and open through these; `hookline keys rotate` and the projector's start walk the same list,
// so a sealed column added here is rotated with the rest (erasure deletes whole rows, and clears the
// canonical forms of the guard rows it keeps: migration 023).
import { type IndexedField, indexWith } from "../crypto/blind-index.ts";
import { open, seal } from "../crypto/envelope.ts";
import type { Keys } from "../crypto/keys.ts";
import { ENCRYPTED_FIELDS, type PatientFieldSpec } from "../patient-fields.ts";

/**
 * How a value becomes the bytes sealed: text as UTF-8, anything else as JSON; "deflated-json"
 * is JSON compressed first (a zero byte, then raw DEFLATE), for large JSON columns: a sealed
 * value cannot be compressed by Postgres, so an event's canonical form (twice its body) pushed
 * its row past TOAST's 2 kB threshold, stored out of line and written to the WAL whole. The
 * leading zero tells it from JSON text, which never starts with one (rows sealed before it, and
 * legacy rows sealed by `keys rotate`, open as JSON). Compressing before sealing leaks nothing
 * here: one value holds one sender's submission, with nothing secret of anyone else mixed in.
 */
type Codec = "text" | "json" | "deflated-json";

const DEFLATED = 0;

export interface SealedColumn {
  /** The bytea column. */
  column: string;
  /** What the seal is bound to (its AAD): the table and the plaintext column it replaces. */
  purpose: string;
  /** The plaintext column of rows written before encryption: read while it holds a value, cleared on write. */
  legacy: string;
  /** SQL reading the legacy column as the text to seal. */
  legacyText: string;
  codec: Codec;
}

/**
 * Several fields sealed together as one JSON object (migration 018): one seal a row where there
 * were one a field. A patient's five encrypted fields were five seals on every write (a fifth of
 * what encryption cost the projector, ~1.7 µs each) and five to open for every row a listing
 * shows. Rows from before it hold each field in its own sealed column (`parts`' columns), or in
 * clear before those (their legacy columns): read from there (openPacked), and packed by the
 * projector's start and by `hookline keys rotate` (rotate.ts).
 */
export interface PackedColumn {
  column: string;
  purpose: string;
  /** Each field packed: its name in the object, and the column it was sealed in alone before. */
  parts: readonly { name: string; sealed: SealedColumn }[];
}

export interface BlindIndexColumn {
  column: string;
  field: IndexedField;
  /** The packed field whose value it indexes. */
  part: string;
}

export interface SealedTable {
  table: string;
  /** A unique key to walk the table by (keyset pagination), in index order, with each column's SQL type. */
  key: readonly { column: string; type: string }[];
  columns: readonly SealedColumn[];
  /** Fields sealed together (patients only). */
  packed?: PackedColumn;
  blindIndexes: readonly BlindIndexColumn[];
}

function fieldColumn(f: PatientFieldSpec): SealedColumn {
  return {
    column: `${f.column}_enc`,
    purpose: `patients.${f.column}`,
    legacy: f.column,
    legacyText: f.type === "date" ? `to_char(${f.column}, 'YYYY-MM-DD')` : `${f.column}::text`,
    codec: f.type === "boolean" ? "json" : "text",
  };
}

const json = (table: string, column: string): SealedColumn => ({
  column: `${column}_enc`,
  purpose: `${table}.${column}`,
  legacy: column,
  legacyText: `${column}::text`,
  codec: "json",
});

/** A patient's encrypted fields, sealed as one value (migration 018; PATIENTS' packed column). */
export const PACKED_PATIENT_FIELDS: PackedColumn = {
  column: "fields_enc",
  purpose: "patients.fields",
  parts: ENCRYPTED_FIELDS.map((f) => ({ name: f.name, sealed: fieldColumn(f) })),
};

export const PATIENTS: SealedTable = {
  table: "patients",
  key: [{ column: "id", type: "bigint" }],
  // Answers repeat every field under its label (the email under "E-Mail"): sealed whole, apart
  // from the fields, since only a patient's detail opens them.
  columns: [json("patients", "answers")],
  packed: PACKED_PATIENT_FIELDS,
  blindIndexes: ENCRYPTED_FIELDS.filter((f) => f.blindIndex).map((f) => ({
    column: `${f.column}_bidx`,
    field: f.kind as IndexedField,
    part: f.name,
  })),
};

export const PATIENT_CONFLICTS: SealedTable = {
  table: "patient_conflicts",
  key: [{ column: "id", type: "bigint" }],
  columns: [json("patient_conflicts", "submission")],
  blindIndexes: [],
};

export const FORM_SUBMISSIONS: SealedTable = {
  table: "form_submissions",
  key: [{ column: "event_id", type: "text" }],
  columns: [json("form_submissions", "answers")],
  blindIndexes: [],
};

export const WEBHOOK_EVENTS: SealedTable = {
  table: "webhook_events",
  key: [
    { column: "event_id", type: "text" },
    { column: "received_at", type: "timestamptz" },
  ],
  columns: [
    // The bytes as received (decoded as UTF-8, as the text column held them).
    { column: "body_enc", purpose: "webhook_events.body", legacy: "body", legacyText: "body", codec: "text" },
  ],
  blindIndexes: [],
};

/**
 * An event's canonical form, on its guard row (migration 023 moved it there from webhook_events,
 * whose partitions a patient's detail then no longer reads). Still bound to the name it was
 * sealed under before the move.
 */
const WEBHOOK_EVENT_IDS: SealedTable = {
  table: "webhook_event_ids",
  key: [{ column: "event_id", type: "text" }],
  columns: [{ ...json("webhook_events", "canonical"), codec: "deflated-json" }],
  blindIndexes: [],
};

/** An event's canonical form as sealed (WEBHOOK_EVENT_IDS). */
export const CANONICAL_FORM = sealedColumn(WEBHOOK_EVENT_IDS, "canonical_enc");

/** Every table holding sealed patient data. */
export const SEALED_TABLES: readonly SealedTable[] = [
  PATIENTS,
  PATIENT_CONFLICTS,
  FORM_SUBMISSIONS,
  WEBHOOK_EVENTS,
  WEBHOOK_EVENT_IDS,
];

/** `column` of `table`'s spec (a typo is a start-up failure, not a null). */
export function sealedColumn(table: SealedTable, column: string): SealedColumn {
  const c = table.columns.find((x) => x.column === column);
  if (!c) throw new Error(`${table.table} has no sealed column ${column}`);
  return c;
}

/** The value sealed with the current data key; null stays null. */
export function sealCell(keys: Keys, col: SealedColumn, value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (col.codec === "deflated-json") {
    // Level 1: most of the gain (1.2 kB of JSON to about a third) for a fraction of the CPU.
    const deflated = Bun.deflateSync(Buffer.from(JSON.stringify(value), "utf8"), { level: 1 });
    const bytes = Buffer.allocUnsafe(deflated.length + 1);
    bytes[0] = DEFLATED;
    bytes.set(deflated, 1);
    return seal(keys.data, col.purpose, bytes);
  }
  return seal(keys.data, col.purpose, col.codec === "text" ? String(value) : JSON.stringify(value));
}

/**
 * The value of a sealed cell; when it holds none, the legacy column's value as read
 * (a row written before encryption), else null.
 */
export function openCell(keys: Keys, col: SealedColumn, sealed: Uint8Array | null, legacy?: unknown): unknown {
  if (sealed === null || sealed === undefined) return legacy ?? null;
  const bytes = open(keys.data, col.purpose, sealed);
  if (col.codec === "text") return bytes.toString("utf8");
  if (col.codec === "deflated-json" && bytes[0] === DEFLATED)
    return JSON.parse(Buffer.from(Bun.inflateSync(new Uint8Array(bytes.subarray(1)))).toString("utf8"));
  return JSON.parse(bytes.toString("utf8"));
}

/** What a packed column's fields are read from: the column, and each part's own sealed and legacy columns. */
export function packedColumns(packed: PackedColumn): string[] {
  return [
    packed.column,
    ...packed.parts.flatMap((p) => [p.sealed.column, `${p.sealed.legacyText} as ${p.sealed.legacy}`]),
  ];
}

/** The packed fields sealed with the current data key (nulls left out); null when every one is null. */
export function sealPacked(keys: Keys, packed: PackedColumn, values: Record<string, unknown>): Buffer | null {
  const present: Record<string, unknown> = {};
  let any = false;
  for (const { name } of packed.parts) {
    const value = values[name];
    if (value === null || value === undefined) continue;
    present[name] = value;
    any = true;
  }
  return any ? seal(keys.data, packed.purpose, JSON.stringify(present)) : null;
}

/**
 * The packed fields of a row read with packedColumns (null when absent). Each field from its own
 * sealed or legacy column when that holds a value, else from the packed column: every write
 * through sealPacked clears the own columns, so a value there was written later (an older
 * version's pod during a rolling upgrade, or a row from before 018 or 009), or is a field made
 * encrypted after the row was packed, still in clear in its column.
 */
export function openPacked(keys: Keys, packed: PackedColumn, r: Record<string, unknown>): Record<string, unknown> {
  const sealed = r[packed.column] as Uint8Array | null | undefined;
  // The opened object is the result (a listing opens 50 of these a page: one object fewer each).
  const values = sealed
    ? (JSON.parse(open(keys.data, packed.purpose, sealed).toString("utf8")) as Record<string, unknown>)
    : {};
  for (const { name, sealed: own } of packed.parts)
    values[name] = openCell(keys, own, r[own.column] as Uint8Array | null, r[own.legacy]) ?? values[name] ?? null;
  return values;
}

/** Whether a row read with packedColumns holds a packed field in one of its own columns (see openPacked). */
export function holdsUnpacked(packed: PackedColumn, r: Record<string, unknown>): boolean {
  return packed.parts.some(({ sealed: own }) => r[own.column] != null || r[own.legacy] != null);
}

/**
 * The blind index of a value as stored (already normalized when it was mapped; a query's
 * text goes through lookupIndexes, which normalizes) under the current index key.
 */
export function indexCell(keys: Keys, index: BlindIndexColumn, stored: string | null | undefined): Buffer | null {
  return stored ? indexWith(keys.blindIndex.current, index.field, stored) : null;
}
