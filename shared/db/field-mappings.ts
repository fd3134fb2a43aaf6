// Field-mapping corrections in Postgres (migration 013): read, saved as a new version with its
// audit entry, and watched. A save notifies FIELD_MAPPINGS_CHANNEL in its transaction (Postgres
// delivers it at commit), and every pod watching reloads that form: the next event it maps
// uses the new mapping, no restart.
import type { Sql, TransactionSql } from "postgres";
import { type AuditEntry, recordAudit } from "../audit/writer.ts";
import type { Logger } from "../logger.ts";
import { CANONICAL_FIELDS } from "../patient-fields.ts";
import type { Corrections, FormCorrections } from "../sources/corrections.ts";
import type { MappingTarget } from "../sources/types.ts";

const FIELD_MAPPINGS_CHANNEL = "hookline_field_mappings";

/** A mapping target an operator may choose. */
export const MAPPING_TARGETS: readonly MappingTarget[] = [...CANONICAL_FIELDS, "ignore"];

export interface FormMappingRow {
  source: string;
  formId: string;
  version: number;
  fields: FormCorrections;
  updatedBy: string;
  updatedAt: string;
}

export interface MappingVersion {
  version: number;
  fields: FormCorrections;
  changes: Record<string, MappingTarget | null>;
  changedBy: string;
  changedAt: string;
}

export class MappingError extends Error {
  constructor(
    readonly code: "version_conflict" | "invalid_target",
    message: string,
  ) {
    super(message);
    this.name = "MappingError";
  }
}

const toRow = (r: Record<string, unknown>): FormMappingRow => ({
  source: r.source as string,
  formId: r.form_id as string,
  version: Number(r.version),
  fields: r.fields as FormCorrections,
  updatedBy: r.updated_by as string,
  updatedAt: (r.updated_at as Date).toISOString(),
});

/** One form's current corrections, or null when none were ever saved. */
export async function readFormMapping(sql: Sql, source: string, formId: string): Promise<FormMappingRow | null> {
  const [row] = await sql`select * from form_mappings where source = ${source} and form_id = ${formId}`;
  return row ? toRow(row) : null;
}

/** Every form's current corrections (what the mapper overlays, and what suggestions learn from). */
export async function readAllFormMappings(sql: Sql): Promise<FormMappingRow[]> {
  return (await sql`select * from form_mappings order by source, form_id`).map(toRow);
}

/** A form's versions, newest first. */
export async function formMappingHistory(sql: Sql, source: string, formId: string): Promise<MappingVersion[]> {
  const rows = await sql`
    select version, fields, changes, changed_by, changed_at from form_mapping_versions
    where source = ${source} and form_id = ${formId} order by version desc`;
  return rows.map((r) => ({
    version: Number(r.version),
    fields: r.fields as FormCorrections,
    changes: r.changes as Record<string, MappingTarget | null>,
    changedBy: r.changed_by as string,
    changedAt: (r.changed_at as Date).toISOString(),
  }));
}

export interface SaveMapping {
  source: string;
  formId: string;
  /** field key → new target; null removes the correction (the heuristics decide again). */
  changes: Record<string, MappingTarget | null>;
  /** Who saves it (the audit actor). */
  actor: string;
  /** When given, the save fails with version_conflict unless the form is at this version (0: none yet). */
  expectedVersion?: number;
}

/**
 * Saves a new version of the form's corrections in one transaction: the current row, the
 * history row, the audit entry (action mapping.update; details name the form, the version and
 * the changed keys with their targets: question labels, never answers) and the notification.
 */
export async function saveFormMapping(sql: Sql, save: SaveMapping): Promise<FormMappingRow> {
  for (const [key, target] of Object.entries(save.changes))
    if (target !== null && !MAPPING_TARGETS.includes(target))
      throw new MappingError("invalid_target", `"${target}" for "${key}" is no canonical field (nor "ignore")`);
  return sql.begin(async (tx) => {
    const [current] = await tx`
      select version, fields from form_mappings where source = ${save.source} and form_id = ${save.formId} for update`;
    const version = current ? Number(current.version) : 0;
    if (save.expectedVersion !== undefined && save.expectedVersion !== version)
      throw new MappingError(
        "version_conflict",
        `the mapping of ${save.source}/${save.formId} is at version ${version}, not ${save.expectedVersion}`,
      );
    const fields: FormCorrections = { ...((current?.fields as FormCorrections | undefined) ?? {}) };
    for (const [key, target] of Object.entries(save.changes)) {
      if (target === null) delete fields[key];
      else fields[key] = target;
    }
    const next = version + 1;
    const [row] = await tx`
      insert into form_mappings (source, form_id, version, fields, updated_by)
      values (${save.source}, ${save.formId}, ${next}, ${tx.json(fields)}, ${save.actor})
      on conflict (source, form_id) do update set version = excluded.version, fields = excluded.fields,
        updated_by = excluded.updated_by, updated_at = now()
      returning *`;
    await tx`
      insert into form_mapping_versions (source, form_id, version, fields, changes, changed_by)
      values (${save.source}, ${save.formId}, ${next}, ${tx.json(fields)}, ${tx.json(save.changes)}, ${save.actor})`;
    await tx`select pg_notify(${FIELD_MAPPINGS_CHANNEL}, ${JSON.stringify({ source: save.source, formId: save.formId, version: next })})`;
    await recordAudit(tx as TransactionSql, mappingAudit(save, next));
    return toRow(row!);
  });
}

function mappingAudit(save: SaveMapping, version: number): AuditEntry {
  return {
    actor: save.actor,
    action: "mapping.update",
    entityType: "form_mapping",
    entityId: `${save.source}/${save.formId}`,
    details: { source: save.source, formId: save.formId, version, changes: save.changes },
  };
}

/** Corrections as the mapper's overlay wants them: source → form → fields. */
export function toCorrections(rows: readonly FormMappingRow[]): Map<string, Map<string, FormCorrections>> {
  const out = new Map<string, Map<string, FormCorrections>>();
  for (const r of rows)
    out.set(r.source, (out.get(r.source) ?? new Map<string, FormCorrections>()).set(r.formId, r.fields));
  return out;
}

export interface MappingWatch {
  /** The corrections as last read (a new object after each change, so caches can compare). */
  current(): Corrections;
  /** Resolves once the first full read is done. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps every form's corrections current: a full read whenever the listening connection is
 * (re)established (a notification missed while it was down is covered by it), and the one
 * form a notification names after each save.
 */
export function watchFieldMappings(sql: Sql, log: Logger): MappingWatch {
  let corrections: Map<string, Map<string, FormCorrections>> = new Map();
  const versions = new Map<string, number>();
  let stopped = false;
  /** Takes the rows newer than the versions held: notifications and full reads may cross. */
  const apply = (rows: FormMappingRow[]): FormMappingRow[] => {
    const fresh = rows.filter((r) => (versions.get(`${r.source}\0${r.formId}`) ?? 0) < r.version);
    if (fresh.length === 0) return fresh;
    const next = new Map(corrections);
    for (const r of fresh) {
      versions.set(`${r.source}\0${r.formId}`, r.version);
      next.set(r.source, new Map(next.get(r.source)).set(r.formId, r.fields));
    }
    corrections = next;
    return fresh;
  };
  // A full read merges rather than replaces: a notification handled while it ran may have
  // brought a form newer than its snapshot (or one the snapshot lacks).
  const reloadAll = async () => {
    const rows = await readAllFormMappings(sql);
    apply(rows);
    log.info({ forms: rows.length }, "field-mapping corrections loaded");
  };
  const reloadForm = async (source: string, formId: string) => {
    const row = await readFormMapping(sql, source, formId);
    if (!row || stopped) return;
    if (apply([row]).length) log.info({ source, formId, version: row.version }, "field-mapping correction applied");
  };
  // The first read must succeed: a pod that cannot read the corrections does not start (it
  // would map events without them). Later reads that fail keep the last corrections.
  let first = true;
  let settle!: { resolve: () => void; reject: (e: unknown) => void };
  const ready = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const listening = sql.listen(
    FIELD_MAPPINGS_CHANNEL,
    (payload) => {
      try {
        const { source, formId } = JSON.parse(payload) as { source: string; formId: string };
        reloadForm(source, formId).catch((error) =>
          log.warn({ err: (error as Error).message }, "reading a field-mapping correction failed"),
        );
      } catch {
        log.warn("ignored a field-mapping notification that is not JSON");
      }
    },
    () => {
      const wasFirst = first;
      first = false;
      reloadAll()
        .then(() => settle.resolve())
        .catch((error) => {
          if (wasFirst) settle.reject(error);
          else log.warn({ err: (error as Error).message }, "reading field-mapping corrections failed");
        });
    },
  );
  listening.catch((error) => settle.reject(error));
  return {
    current: () => corrections,
    ready,
    async stop() {
      stopped = true;
      await (await listening.catch(() => undefined))?.unlisten();
    },
  };
}
