// `hookline reproject --source S --form F [--since ISO] [--dry-run]`: applies the form's current
// field mapping (the sources file's, with operators' corrections from Postgres) to its past
// events, from the raw log (webhook_events.body_enc, opened with the keys), oldest first, with
// a progress bar. Per event: the event is parsed again; where the new patient fields differ from
// the stored canonical event's, its patient gets the new value when the old mapping put the
// current one there (the patient's value is this event's old value, or empty, or the event is
// the patient's newest) and no later manual edit holds the field. The email is never changed
// (it is the patient's key; a changed email is counted and reported). The event's stored
// canonical form is replaced, each patient change is audited (patient.reproject) and its cached
// copy dropped. Run through ops/hookline.ts (and the executable, services/main.ts).
import { parseArgs } from "node:util";
import { Presets, SingleBar } from "cli-progress";
import type { Sql } from "postgres";
import { entityHash } from "../shared/audit/canonical.ts";
import { changedFields, patientState } from "../shared/audit/entities.ts";
import { recordAudit } from "../shared/audit/writer.ts";
import { commonConfig, keyringConfig, readConfig, sourcesFileConfig } from "../shared/config.ts";
import { auditHashKey } from "../shared/crypto/audit-hash-key.ts";
import { type Keys, loadKeys } from "../shared/crypto/keys.ts";
import { readAllFormMappings } from "../shared/db/field-mappings.ts";
import { MERGED_FIELDS, type MergedField } from "../shared/db/patient-merge.ts";
import { type LockedPatient, lockPatient, writePatients } from "../shared/db/patients.ts";
import { CANONICAL_FORM, openCell, sealCell, sealedColumn, WEBHOOK_EVENTS } from "../shared/db/sealed.ts";
import { findMappableSource } from "../shared/db/sources.ts";
import { createPatientCache } from "../shared/patient-cache.ts";
import { patientField } from "../shared/patient-fields.ts";
import { withCorrections } from "../shared/sources/corrections.ts";
import { type CanonicalEvent, getAdapter, loadSources, type SourceConfig } from "../shared/sources/index.ts";
import { cliActor, cliDatabase, cliRedis, failureExit, UsageError } from "./cli.ts";

export const REPROJECT_USAGE = `  hookline reproject --source S --form F [--since ISO-TIME] [--dry-run]
                                                         apply the form's current field mapping (sources file and
                                                         corrections) to its past events from the raw log, oldest
                                                         first, with a progress bar; patient changes audited.
                                                         Needs DATABASE_URL, REDIS_URL, HOOKLINE_SOURCES and the keys`;

const BODY = sealedColumn(WEBHOOK_EVENTS, "body_enc");
const PAGE = 200;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface ReprojectResult {
  events: number;
  /** Events whose mapped patient fields changed. */
  changedEvents: number;
  /** Patient rows written. */
  patients: number;
  /** Events whose new mapping gave another email (never applied: the email keys the patient). */
  emailChanges: number;
  /** Events the adapter can no longer parse (left as they are). */
  failed: number;
}

interface StoredEvent {
  event_id: string;
  received_at: Date;
  content_type: string | null;
  patient_id: string | null;
  body_enc: Uint8Array | null;
  body: string | null;
  canonical_enc: Uint8Array | null;
  canonical: unknown;
}

/** The value a patient column takes (a date column only takes calendar dates; kept-as-sent ones stay null). */
function columnValue(field: MergedField, value: unknown): unknown {
  if (value === undefined) return null;
  if (patientField(field).type === "date" && !(typeof value === "string" && ISO_DATE.test(value))) return null;
  return value;
}

/**
 * Applies the new mapping's fields to the locked patient: a field changes when the new value
 * differs from the event's old one, the patient's value is the old one, empty, or this event
 * is the patient's newest, and no manual edit holds it. Returns the fields set.
 */
function applyChanges(
  patient: LockedPatient,
  eventId: string,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): MergedField[] {
  const values = patient.state.values as Record<string, unknown>;
  const set: MergedField[] = [];
  for (const field of MERGED_FIELDS) {
    const old = columnValue(field, before[field]);
    const next = columnValue(field, after[field]);
    if (old === next) continue;
    if (patient.state.manualEdits?.[field]) continue;
    const current = values[field] ?? null;
    const ours = current === old || current === null || patient.state.lastEventId === eventId;
    if (!ours || current === next) continue;
    values[field] = next;
    set.push(field);
  }
  return set;
}

export interface ReprojectOptions {
  sql: Sql;
  keys: Keys;
  source: SourceConfig;
  formId: string;
  since?: Date;
  dryRun?: boolean;
  actor: string;
  onTotal?: (n: number) => void;
  onEvent?: (result: ReprojectResult) => void;
  /** After each commit that changed a patient: drops its cached copy (a run stopped midway leaves none stale). */
  onPatientWritten?: (patientId: string) => Promise<void>;
}

/** Re-maps a form's stored events with `source` (corrections already overlaid). Returns the counts. */
export async function reprojectForm(o: ReprojectOptions): Promise<ReprojectResult> {
  const { sql, keys, source, formId } = o;
  const hashKey = auditHashKey(keys.blindIndex);
  const since = o.since ?? new Date(0);
  const [{ count }] = (await sql`
    select count(*)::int as count from webhook_events
    where source = ${source.id} and form_id = ${formId} and received_at >= ${since}`) as unknown as [{ count: number }];
  o.onTotal?.(count);
  const result: ReprojectResult = { events: 0, changedEvents: 0, patients: 0, emailChanges: 0, failed: 0 };
  const adapter = getAdapter(source.adapter);
  let after: { at: Date; id: string } | undefined;
  for (;;) {
    const page = await sql<StoredEvent[]>`
      select we.event_id, we.received_at, content_type, patient_id, body_enc, body, ids.canonical_enc, ids.canonical
      from webhook_events we left join webhook_event_ids ids on ids.event_id = we.event_id
      where source = ${source.id} and form_id = ${formId} and we.received_at >= ${since}
        ${after ? sql`and (we.received_at, we.event_id) > (${after.at}, ${after.id})` : sql``}
      order by we.received_at, we.event_id limit ${PAGE}`;
    if (page.length === 0) break;
    for (const row of page) {
      after = { at: row.received_at, id: row.event_id };
      result.events++;
      let event: CanonicalEvent;
      try {
        const body = openCell(keys, BODY, row.body_enc, row.body) as string;
        event = adapter.parse(
          {
            method: "POST",
            headers: { "content-type": row.content_type ?? "application/json" },
            query: {},
            body: new TextEncoder().encode(body),
            now: row.received_at.getTime(),
          },
          source,
        );
      } catch {
        result.failed++;
        o.onEvent?.(result);
        continue;
      }
      const stored = (openCell(keys, CANONICAL_FORM, row.canonical_enc, row.canonical) ??
        {}) as Partial<CanonicalEvent>;
      const before = (stored.patient ?? {}) as Record<string, unknown>;
      const now = event.patient as Record<string, unknown>;
      const differs =
        MERGED_FIELDS.some((f) => (before[f] ?? null) !== (now[f] ?? null)) ||
        (before.email ?? null) !== (now.email ?? null);
      if (!differs) {
        o.onEvent?.(result);
        continue;
      }
      result.changedEvents++;
      if ((before.email ?? null) !== (now.email ?? null)) result.emailChanges++;
      if (!o.dryRun) {
        // The stored event keeps its ids and times; its patient part is the new mapping's.
        const canonical = {
          ...stored,
          patient: event.patient,
          confidence: event.confidence,
          provenance: event.provenance,
          answers: event.answers,
          eventId: row.event_id,
        };
        const written = await sql.begin(async (tx) => {
          // The patient first, as erasure locks it (shared/db/erase.ts), then the raw event: an
          // erasure that committed since the page was read deleted it, and cleared the guard row
          // this would write the patient's data back to (and the reverse order could deadlock).
          const patient = row.patient_id === null ? null : await lockPatient(tx, keys, String(row.patient_id));
          const [raw] = await tx`
            select 1 from webhook_events where event_id = ${row.event_id} and received_at = ${row.received_at} for update`;
          if (!raw) return false;
          await tx`update webhook_event_ids set canonical_enc = ${sealCell(keys, CANONICAL_FORM, canonical)}, canonical = null
            where event_id = ${row.event_id}`;
          // No patient: none linked, or merged into another since (its event moved there; its
          // canonical form is still this event's).
          if (!patient) return false;
          // A submission held back as an identity conflict merged nothing into its patient (it
          // is linked to it only to be shown there): re-mapping it merges nothing either, unless
          // a person accepted it. Read after the lock, which accepting a conflict also takes.
          const [held] = await tx`
            select 1 from patient_conflicts where event_id = ${row.event_id} and status <> 'accepted'`;
          if (held) return false;
          const beforeState = patientState(patient);
          const fields = applyChanges(patient, row.event_id, before, now);
          if (fields.length === 0) return false;
          await writePatients(tx, keys, [patient]);
          const afterState = patientState(patient);
          await recordAudit(tx, {
            actor: o.actor,
            action: "patient.reproject",
            entityType: "patient",
            entityId: patient.id,
            changedFields: changedFields(beforeState, afterState),
            beforeHash: entityHash(hashKey, beforeState),
            afterHash: entityHash(hashKey, afterState),
            details: { source: source.id, formId, eventId: row.event_id, hashKey: hashKey.id },
          });
          return true;
        });
        if (written && row.patient_id !== null) {
          result.patients++;
          await o.onPatientWritten?.(String(row.patient_id));
        }
      }
      o.onEvent?.(result);
    }
  }
  return result;
}

async function run(values: { source: string; form: string; since?: string; "dry-run": boolean }): Promise<number> {
  const since = values.since ? new Date(values.since) : undefined;
  if (since && Number.isNaN(since.getTime()))
    throw new UsageError("--since must be an ISO time, e.g. 2026-01-01T00:00:00Z");
  const config = readConfig({
    ...commonConfig,
    ...keyringConfig,
    sourcesFile: sourcesFileConfig,
  });
  const keys = loadKeys(config);
  const sql = await cliDatabase();
  const base = await findMappableSource(sql, loadSources(config.sourcesFile), values.source);
  if (!base) {
    await sql.end();
    throw new UsageError(`no source "${values.source}" in the sources file or among the sources created at runtime`);
  }
  const redis = await cliRedis();
  const cache = createPatientCache(redis);
  const bar = new SingleBar(
    {
      format: "reproject [{bar}] {value}/{total} events, {changed} changed, {patients} patient write(s)",
      hideCursor: true,
      noTTYOutput: !process.stderr.isTTY,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  try {
    const corrections = (await readAllFormMappings(sql)).filter((m) => m.source === base.id);
    const source = withCorrections(base, new Map(corrections.map((m) => [m.formId, m.fields])));
    const result = await reprojectForm({
      sql,
      keys,
      source,
      formId: values.form,
      since,
      dryRun: values["dry-run"],
      actor: cliActor(),
      onTotal: (n) => bar.start(n, 0, { changed: 0, patients: 0 }),
      onEvent: (r) => bar.update(r.events, { changed: r.changedEvents, patients: r.patients }),
      // After each commit, so a reader cannot cache the row again (shared/patient-cache.ts).
      onPatientWritten: (id) => cache.invalidate([id]),
    });
    bar.stop();
    console.log(
      `${values["dry-run"] ? "dry run: " : ""}${result.events} event(s) of ${base.id}/${values.form}, ` +
        `${result.changedEvents} mapped differently, ${result.patients} patient write(s)` +
        (result.emailChanges
          ? `, ${result.emailChanges} with another email (not applied: the email keys the patient)`
          : "") +
        (result.failed ? `, ${result.failed} no longer parseable (left as they were)` : ""),
    );
    return 0;
  } finally {
    bar.stop();
    redis.disconnect();
    await sql.end({ timeout: 5 });
  }
}

/** Runs `reproject ...args`; returns the exit code. */
export async function reprojectCommand(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        source: { type: "string" },
        form: { type: "string" },
        since: { type: "string" },
        "dry-run": { type: "boolean", default: false },
      },
    });
    if (positionals.length > 0 || !values.source || !values.form)
      throw new UsageError("reproject needs --source S and --form F");
    return await run({ ...values, source: values.source, form: values.form });
  } catch (error) {
    return failureExit(error, REPROJECT_USAGE);
  }
}
