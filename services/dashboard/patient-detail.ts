// One patient in full (GET /api/v1/patients/:id): the record, its timeline (every submission
// linked to it, oldest first, with its answers and whether it was merged or held back as a
// conflict) and where each field's current value came from: the newest merged submission that
// carried that value (its source, form, the answer's label and how the mapper matched it), or
// a manual edit (PATCH) made after it.
//
// A submission's canonical values are read from its event's guard row (webhook_event_ids,
// sealed); once retention dropped that event, the submission is still in the timeline but can
// no longer be named as a field's origin.
import type { Row, Sql, TransactionSql } from "postgres";
import type { Keys } from "../../shared/crypto/keys.ts";
import { CANONICAL_FORM, FORM_SUBMISSIONS, openCell, sealedColumn } from "../../shared/db/sealed.ts";
import { PATIENT_FIELDS } from "../../shared/patient-fields.ts";
import { COLUMNS, type PatientDto, toPatientDto } from "./patients.ts";

const ANSWERS = sealedColumn(FORM_SUBMISSIONS, "answers_enc");
/** A patient's timeline shows at most this many submissions (the newest). */
const TIMELINE_LIMIT = 200;

interface TimelineEntry {
  eventId: string;
  source: string;
  formId: string | null;
  submittedAt: string;
  /** merged: its values reached the record; conflict-*: held back for review (GET …/conflicts). */
  status: "merged" | "conflict-open" | "conflict-accepted" | "conflict-dismissed";
  answers: Record<string, unknown>;
}

/** Where a field's current value came from. */
type FieldOrigin =
  | {
      kind: "submission";
      eventId: string;
      source: string;
      formId: string | null;
      submittedAt: string;
      label?: string;
      method?: string;
    }
  | { kind: "manual"; editedAt: string; by?: string };

export type PatientDetail = PatientDto & {
  timeline: TimelineEntry[];
  /** Canonical field name → its origin, for every field with a value whose origin is known. */
  origins: Record<string, FieldOrigin>;
};

/** Manual edits as stored (migration 012): field → when and by whom. */
export type ManualEdits = Record<string, { at: string; by?: string }>;

/** A bytea from JSON ("\\x" and hex), as postgres.js would have given it. */
const bytea = (hex: string | null): Buffer | null => (hex === null ? null : Buffer.from(hex.slice(2), "hex"));

const same = (a: unknown, b: unknown) => a === b || (a != null && b != null && String(a) === String(b));

/** The origin of each field of `patient`, from its merged submissions (oldest first) and manual edits. */
export function fieldOrigins(
  patient: PatientDto,
  merged: {
    entry: TimelineEntry;
    values: Record<string, unknown> | null;
    provenance: Record<string, { label: string; method: string }>;
  }[],
  manual: ManualEdits,
): Record<string, FieldOrigin> {
  const origins: Record<string, FieldOrigin> = {};
  for (const f of PATIENT_FIELDS) {
    const current = (patient as Record<string, unknown>)[f.name];
    if (current === null || current === undefined) continue;
    let found: FieldOrigin | undefined;
    for (let i = merged.length - 1; i >= 0 && !found; i--) {
      const m = merged[i]!;
      if (!m.values || !same(m.values[f.name], current)) continue;
      const p = m.provenance[f.name];
      found = {
        kind: "submission",
        eventId: m.entry.eventId,
        source: m.entry.source,
        formId: m.entry.formId,
        submittedAt: m.entry.submittedAt,
        ...(p ? { label: p.label, method: p.method } : {}),
      };
    }
    const edit = manual[f.name];
    if (edit && (found?.kind !== "submission" || Date.parse(edit.at) >= Date.parse(found.submittedAt)))
      found = { kind: "manual", editedAt: edit.at, ...(edit.by ? { by: edit.by } : {}) };
    if (found) origins[f.name] = found;
  }
  return origins;
}

const STATUS: Record<string, TimelineEntry["status"]> = {
  open: "conflict-open",
  accepted: "conflict-accepted",
  dismissed: "conflict-dismissed",
};

/** The patient with its timeline and field origins; null when there is none (or it is not in the caller's scope). */
export async function getPatientDetail(
  tx: Sql | TransactionSql,
  keys: Keys,
  id: string,
): Promise<PatientDetail | null> {
  // The patient and its timeline in one statement: one round trip less per detail, which on a
  // busy machine is one more wait for the CPU (every write to a socket wakes Postgres). The
  // timeline comes as JSON (bytea as "\\x…" hex, times as text), each submission's canonical
  // form from its event's guard row (migration 023: not from the partitioned raw events, whose
  // every month a join would have set up and locked). (Written "from patients ... lateral" so
  // that its trace span is named after patients.)
  const [row] = await tx`
    select ${tx.unsafe(COLUMNS)}, manual_edits, t.timeline
    from patients left join lateral (
      select coalesce(json_agg(newest order by newest.submitted_at, newest.event_id), '[]'::json) as timeline from (
        select fs.event_id, fs.source, fs.form_id, fs.submitted_at, fs.answers_enc, fs.answers,
          ids.canonical_enc, ids.canonical, c.status as conflict_status
        from form_submissions fs
        left join webhook_event_ids ids on ids.event_id = fs.event_id
        left join patient_conflicts c on c.event_id = fs.event_id
        where fs.patient_id = patients.id
        order by fs.submitted_at desc, fs.event_id desc
        limit ${TIMELINE_LIMIT}) newest
    ) t on true
    where patients.id = ${id}::bigint`;
  if (!row) return null;
  const patient = toPatientDto(keys, row);
  const rows = (row.timeline as Row[]).map((r) => ({
    ...r,
    submitted_at: new Date(r.submitted_at),
    answers_enc: bytea(r.answers_enc),
    canonical_enc: bytea(r.canonical_enc),
  }));
  const merged: Parameters<typeof fieldOrigins>[1] = [];
  const timeline = rows.map((r: Row): TimelineEntry => {
    const entry: TimelineEntry = {
      eventId: r.event_id,
      source: r.source,
      formId: r.form_id,
      submittedAt: r.submitted_at.toISOString(),
      status: r.conflict_status ? STATUS[r.conflict_status]! : "merged",
      answers: (openCell(keys, ANSWERS, r.answers_enc, r.answers) ?? {}) as Record<string, unknown>,
    };
    if (entry.status === "merged" || entry.status === "conflict-accepted") {
      const canonical = openCell(keys, CANONICAL_FORM, r.canonical_enc, r.canonical) as {
        patient?: Record<string, unknown>;
        provenance?: Record<string, { label: string; method: string }>;
      } | null;
      merged.push({ entry, values: canonical?.patient ?? null, provenance: canonical?.provenance ?? {} });
    }
    return entry;
  });
  return { ...patient, timeline, origins: fieldOrigins(patient, merged, (row.manual_edits ?? {}) as ManualEdits) };
}
