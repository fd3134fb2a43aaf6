// Field-mapping corrections and review (issue #14): an operator maps a form's field to a
// canonical field, or marks it as not patient data ("ignore"); the mapping is stored per form,
// versioned and audited (shared/db/field-mappings.ts), and every projector pod applies it to the
// next event (no restart); `ops/hookline reproject` applies it to past events. The preview maps
// the form's latest stored events with and without the proposed change; the review lists the
// form's fields no rule maps and those mapped with low confidence, each with suggestions learned
// from the corrections of all forms (shared/sources/suggest.ts). Registered inside the
// authenticated API; roles in access.ts.
import { Elysia } from "elysia";
import type { Sql } from "postgres";
import * as v from "valibot";
import type { Keys } from "../../shared/crypto/keys.ts";
import {
  formMappingHistory,
  MAPPING_TARGETS,
  MappingError,
  readAllFormMappings,
  readFormMapping,
  saveFormMapping,
} from "../../shared/db/field-mappings.ts";
import { CANONICAL_FORM, openCell, sealedColumn, WEBHOOK_EVENTS } from "../../shared/db/sealed.ts";
import { findMappableSource } from "../../shared/db/sources.ts";
import { errorResponse, json } from "../../shared/http/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import { CANONICAL_FIELDS } from "../../shared/patient-fields.ts";
import { type FormCorrections, withCorrections } from "../../shared/sources/corrections.ts";
import { getAdapter } from "../../shared/sources/registry.ts";
import { type Correction, suggestTargets } from "../../shared/sources/suggest.ts";
import type { Answer, CanonicalEvent, MappingTarget, SourceConfig } from "../../shared/sources/types.ts";
import { callerOf } from "./audit.ts";
import { routeDoc } from "./route-doc.ts";

const BODY = sealedColumn(WEBHOOK_EVENTS, "body_enc");
/** Below this a mapped field is listed for review (the mapper keeps values failing validation below it). */
const LOW_CONFIDENCE = 0.5;
/** How many of a form's latest events the preview and the review look at. */
const RECENT = 20;

const Target = v.nullable(v.picklist(MAPPING_TARGETS as MappingTarget[]));
/**
 * field key → target, as an object: valibot's record takes an array too, as {"0": …}, so
 * `"changes": [null]` saved a version that changed nothing. Refused before the record reads it.
 */
const Changes = v.pipe(
  v.custom<Record<string, unknown>>((input) => !Array.isArray(input), "changes must be an object, not an array"),
  v.record(v.pipe(v.string(), v.minLength(1), v.maxLength(2000)), Target),
);
const SaveBody = v.object({
  changes: v.pipe(
    Changes,
    v.check((c) => Object.keys(c).length > 0 && Object.keys(c).length <= 500, "send 1 to 500 changes"),
  ),
  version: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
});
const PreviewBody = v.object({
  changes: Changes,
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(RECENT))),
});

const FormParams = v.object({ source: v.string(), formId: v.string() });

export interface MappingDeps {
  sql: Sql;
  keys: Keys;
  sources: Map<string, SourceConfig>;
  log: Logger;
}

interface StoredEvent {
  eventId: string;
  receivedAt: Date;
  contentType: string;
  body: string;
  canonical: Partial<CanonicalEvent>;
}

/** The form's latest stored events, newest first, opened. */
async function recentEvents(sql: Sql, keys: Keys, source: string, formId: string, limit: number) {
  const rows = await sql`
    select we.event_id, we.received_at, content_type, body_enc, body, ids.canonical_enc, ids.canonical
    from webhook_events we left join webhook_event_ids ids on ids.event_id = we.event_id
    where source = ${source} and form_id = ${formId} order by we.received_at desc limit ${limit}`;
  return rows.map(
    (r): StoredEvent => ({
      eventId: r.event_id,
      receivedAt: r.received_at,
      contentType: r.content_type ?? "application/json",
      body: openCell(keys, BODY, r.body_enc, r.body) as string,
      canonical: (openCell(keys, CANONICAL_FORM, r.canonical_enc, r.canonical) ?? {}) as Partial<CanonicalEvent>,
    }),
  );
}

/** The event mapped again under `source`; undefined when its body no longer parses. */
function remap(source: SourceConfig, e: StoredEvent): CanonicalEvent | undefined {
  try {
    return getAdapter(source.adapter).parse(
      {
        method: "POST",
        headers: { "content-type": e.contentType },
        query: {},
        body: new TextEncoder().encode(e.body),
        now: e.receivedAt.getTime(),
      },
      source,
    );
  } catch {
    return undefined;
  }
}

/** The source with every form's saved corrections, plus `extra` for one form. */
async function correctedSource(
  sql: Sql,
  base: SourceConfig,
  extra?: { formId: string; changes: Record<string, MappingTarget | null> },
): Promise<SourceConfig> {
  const forms = new Map(
    (await readAllFormMappings(sql)).filter((m) => m.source === base.id).map((m) => [m.formId, m.fields]),
  );
  if (extra) {
    const fields: FormCorrections = { ...forms.get(extra.formId) };
    for (const [key, target] of Object.entries(extra.changes)) {
      if (target === null) delete fields[key];
      else fields[key] = target;
    }
    forms.set(extra.formId, fields);
  }
  return withCorrections(base, forms);
}

/** Every correction of every form, as the suggestion model learns from them. */
async function allCorrections(sql: Sql): Promise<Correction[]> {
  return (await readAllFormMappings(sql)).flatMap((m) =>
    Object.entries(m.fields).map(([key, target]) => ({ source: m.source, formId: m.formId, key, target })),
  );
}

const sampleText = (a: Answer): string | undefined =>
  typeof a.value === "string" || typeof a.value === "number" ? String(a.value) : undefined;

/**
 * The review of a form: from its latest events, each field (answer label) that filled no
 * canonical field and is not marked "ignore", and each canonical field filled with low
 * confidence, with suggestions. Sample values are used for their shape only, never returned.
 */
async function review(sql: Sql, keys: Keys, source: SourceConfig, formId: string) {
  const corrected = await correctedSource(sql, source);
  const events = (await recentEvents(sql, keys, source.id, formId, RECENT))
    .map((e) => remap(corrected, e))
    .filter((e): e is CanonicalEvent => e !== undefined);
  const explicit = corrected.forms[formId]?.fields ?? {};
  const corrections = await allCorrections(sql);
  const fields = new Map<string, { samples: string[]; used: number; low: Map<string, number> }>();
  for (const event of events) {
    const usedLabels = new Map<string, string>();
    for (const [field, p] of Object.entries(event.provenance ?? {})) if (p) usedLabels.set(p.label, field);
    for (const answer of event.answers) {
      const entry = fields.get(answer.label) ?? { samples: [], used: 0, low: new Map<string, number>() };
      const text = sampleText(answer);
      if (text !== undefined) entry.samples.push(text);
      const field = usedLabels.get(answer.label);
      if (field) {
        entry.used++;
        const confidence = event.confidence[field as keyof CanonicalEvent["confidence"]] ?? 1;
        if (confidence < LOW_CONFIDENCE) entry.low.set(field, Math.min(entry.low.get(field) ?? 1, confidence));
      }
      fields.set(answer.label, entry);
    }
  }
  const items = [];
  for (const [label, f] of fields) {
    if (explicit[label] !== undefined) continue;
    const unmapped = f.used === 0;
    if (!unmapped && f.low.size === 0) continue;
    items.push({
      label,
      status: unmapped ? "unmapped" : "low-confidence",
      ...(unmapped ? {} : { fields: Object.fromEntries(f.low) }),
      suggestions: suggestTargets({ label, samples: f.samples }, corrections),
    });
  }
  return { source: source.id, formId, events: events.length, items };
}

/** The mapping routes, as a plugin for the authenticated API. */
export function mappingRoutes({ sql, keys, sources, log }: MappingDeps) {
  const known = (id: string) => findMappableSource(sql, sources, id);
  return new Elysia()
    .get(
      "/api/v1/forms/:source/:formId/mappings",
      async ({ params }) => {
        const source = await known(params.source);
        if (!source) return errorResponse(404, "unknown_source", `no source "${params.source}" is configured`);
        const saved = await readFormMapping(sql, source.id, params.formId);
        return json({
          source: source.id,
          formId: params.formId,
          version: saved?.version ?? 0,
          corrections: saved?.fields ?? {},
          // The sources file's mappings for the form (and for all its forms, "*"): corrections win over them.
          configured: { ...source.forms["*"]?.fields, ...source.forms[params.formId]?.fields },
          targets: [...CANONICAL_FIELDS, "ignore"],
          history: await formMappingHistory(sql, source.id, params.formId),
        });
      },
      routeDoc({
        summary: "A form's field-mapping corrections (current version and history) and the sources file's mapping",
        params: FormParams,
        responses: { 200: "the mapping", 404: "unknown source" },
      }),
    )
    .put(
      "/api/v1/forms/:source/:formId/mappings",
      async (context) => {
        const { params, body } = context;
        const source = await known(params.source);
        if (!source) return errorResponse(404, "unknown_source", `no source "${params.source}" is configured`);
        const parsed = v.safeParse(SaveBody, body);
        if (!parsed.success)
          return errorResponse(
            400,
            "invalid_request",
            `send {"changes":{"<label, field id or ref>":"<canonical field>"|"ignore"|null},"version"?: n}: ${parsed.issues[0].message}`,
          );
        try {
          const saved = await saveFormMapping(sql, {
            source: source.id,
            formId: params.formId,
            changes: parsed.output.changes,
            actor: callerOf(context).id,
            expectedVersion: parsed.output.version,
          });
          log.info({ source: source.id, formId: params.formId, version: saved.version }, "field mapping saved");
          return json(saved);
        } catch (error) {
          if (error instanceof MappingError)
            return errorResponse(error.code === "version_conflict" ? 409 : 400, error.code, error.message);
          throw error;
        }
      },
      routeDoc({
        summary:
          'Save corrections as the form\'s next version (audited; every projector applies it to the next event): field key → canonical field, "ignore" (not patient data) or null (remove)',
        params: FormParams,
        body: SaveBody,
        responses: {
          200: "the saved mapping",
          400: "bad target or body",
          404: "unknown source",
          409: "version conflict",
        },
      }),
    )
    .post(
      "/api/v1/forms/:source/:formId/mappings/preview",
      async ({ params, body }) => {
        const base = await known(params.source);
        if (!base) return errorResponse(404, "unknown_source", `no source "${params.source}" is configured`);
        const parsed = v.safeParse(PreviewBody, body);
        if (!parsed.success)
          return errorResponse(400, "invalid_request", `send {"changes":{...},"limit"?: 1..${RECENT}}`);
        const now = await correctedSource(sql, base);
        const proposed = await correctedSource(sql, base, { formId: params.formId, changes: parsed.output.changes });
        const events = await recentEvents(sql, keys, base.id, params.formId, parsed.output.limit ?? 10);
        const items = events.map((e) => {
          const before = remap(now, e)?.patient ?? {};
          const after = remap(proposed, e)?.patient ?? {};
          const changed = CANONICAL_FIELDS.filter(
            (f) => (before as Record<string, unknown>)[f] !== (after as Record<string, unknown>)[f],
          );
          return { eventId: e.eventId, receivedAt: e.receivedAt.toISOString(), before, after, changedFields: changed };
        });
        return json({ source: base.id, formId: params.formId, items });
      },
      routeDoc({
        summary:
          "The form's latest stored events mapped with the saved corrections and with the proposed changes, nothing saved",
        params: FormParams,
        body: PreviewBody,
        responses: { 200: "each event's patient before and after, and the fields that change", 404: "unknown source" },
      }),
    )
    .get(
      "/api/v1/forms/:source/:formId/review",
      async ({ params }) => {
        const source = await known(params.source);
        if (!source) return errorResponse(404, "unknown_source", `no source "${params.source}" is configured`);
        return json(await review(sql, keys, source, params.formId));
      },
      routeDoc({
        summary:
          "The form's fields no rule maps and those mapped with low confidence, with suggestions learned from all forms' corrections",
        params: FormParams,
        responses: { 200: "the fields to review (labels and suggestions, no answers)", 404: "unknown source" },
      }),
    );
}
