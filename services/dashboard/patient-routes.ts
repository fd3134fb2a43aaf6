// The patient routes of the dashboard API, as a plugin mounted behind bearerAuth (app.ts):
// listing and search (patient-list.ts), one patient with its timeline (patient-detail.ts, cached
// for unscoped callers), adding one by hand, editing, merging two, erasing. Every query of
// patient data runs in the caller's scope (scope.ts: row-level security for client-scoped
// tokens). Writes are audited in their transaction and invalidate the patient cache after the
// commit. Roles: access.ts. Schemas: declared with each route (route-doc.ts) for /openapi.json.
import { Elysia } from "elysia";
import type { Sql, TransactionSql } from "postgres";
import * as v from "valibot";
import { type EntityHashKey, entityHash } from "../../shared/audit/canonical.ts";
import { changedFields, patientState } from "../../shared/audit/entities.ts";
import { recordAudit } from "../../shared/audit/writer.ts";
import type { Principal } from "../../shared/auth/bearer.ts";
import type { Redis } from "../../shared/cache.ts";
import { auditHashKey } from "../../shared/crypto/audit-hash-key.ts";
import { lookupIndexes } from "../../shared/crypto/blind-index.ts";
import type { Keys } from "../../shared/crypto/keys.ts";
import { byteaColumn } from "../../shared/db/arrays.ts";
import { MERGED_FIELDS, type MergedField, mergeSubmission } from "../../shared/db/patient-merge.ts";
import { insertPatients, type LockedPatient, lockPatient, writePatients } from "../../shared/db/patients.ts";
import { ROW_ID } from "../../shared/db/row-id.ts";
import { openPacked, PACKED_PATIENT_FIELDS, packedColumns } from "../../shared/db/sealed.ts";
import { allMappableSources } from "../../shared/db/sources.ts";
import { erasePatientEverywhere } from "../../shared/erase-streams.ts";
import { errorResponse, json } from "../../shared/http/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import { createPatientCache } from "../../shared/patient-cache.ts";
import { PATIENT_FIELDS } from "../../shared/patient-fields.ts";
import type { SourceConfig } from "../../shared/sources/index.ts";
import { callerOf, patientErasure, patientRead } from "./audit.ts";
import { auditBatcher } from "./audit-batch.ts";
import { recentReadAdmission } from "./cache-admission.ts";
import { listedFor } from "./masking.ts";
import type { NatsLink } from "./nats-link.ts";
import { keysetPage } from "./paging.ts";
import { getPatientDetail, type ManualEdits, type PatientDetail } from "./patient-detail.ts";
import { canonicalInput, NewPatientBody, PatientPatchBody } from "./patient-input.ts";
import {
  ListCursor,
  type ListedPatient,
  type ListQuery,
  listPatients,
  SORT_KEY,
  SORTS,
  type Sort,
} from "./patient-list.ts";
import { routeDoc } from "./route-doc.ts";
import { createRowCache } from "./row-cache.ts";
import { isScoped, withScope } from "./scope.ts";

const ID = ROW_ID;
const Id = v.pipe(v.string(), v.regex(ID), v.description("a patient id"));
const IdParams = v.object({ id: Id });
const Iso = v.pipe(v.string(), v.isoTimestamp());

/** The listing's parameters, in the query (GET) or the body (POST …/search). */
const ListParams = v.object({
  q: v.optional(
    v.pipe(
      v.string(),
      v.maxLength(200),
      v.description(
        "an email (exact, case-insensitive), a phone number (exact, any common notation), or words of a name or city (prefixes, typos and accents tolerated; ranked)",
      ),
    ),
  ),
  client: v.optional(v.pipe(v.string(), v.regex(ID), v.description("only this client's patients"))),
  source: v.optional(v.pipe(v.string(), v.maxLength(200))),
  form: v.optional(
    v.pipe(v.string(), v.maxLength(200), v.description("only patients whose latest submission came from this form")),
  ),
  from: v.optional(v.pipe(Iso, v.description("latest submission at or after (ISO time)"))),
  to: v.optional(v.pipe(Iso, v.description("latest submission before (ISO time)"))),
  sort: v.optional(
    v.pipe(
      v.picklist([...SORTS, "relevance"]),
      v.description("created (default), updated, submitted, name; relevance (default with a name search)"),
    ),
  ),
  dir: v.optional(v.picklist(["asc", "desc"])),
  limit: v.optional(v.union([v.pipe(v.number(), v.integer()), v.pipe(v.string(), v.regex(/^\d+$/))])),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(2000), v.description("nextCursor of the previous page"))),
});
type ListParams = v.InferOutput<typeof ListParams>;

const nullable = <S extends v.GenericSchema>(s: S) => v.nullable(s);
/** A patient as the API shows it: the canonical fields (from the field table), then its bookkeeping. */
const PatientSchema = v.object({
  id: v.string(),
  ...Object.fromEntries(
    PATIENT_FIELDS.map((f) => [
      f.name,
      nullable(
        f.type === "boolean"
          ? v.pipe(v.boolean(), v.description(f.description))
          : v.pipe(v.string(), v.description(f.description)),
      ),
    ]),
  ),
  source: v.string(),
  formId: v.nullable(v.string()),
  eventId: v.pipe(v.string(), v.description("the latest submission merged into this record")),
  submittedAt: v.string(),
  eventsCount: v.number(),
  answers: v.record(v.string(), v.unknown()),
  openConflicts: v.number(),
  createdAt: v.string(),
  updatedAt: v.string(),
});
/** A listing's or search's patients: without their answers, which the detail has (patients.ts, PatientSummary). */
const PatientPage = v.object({
  items: v.array(v.omit(PatientSchema, ["answers"])),
  nextCursor: v.nullable(v.string()),
});
const Origin = v.object({
  kind: v.picklist(["submission", "manual"]),
  eventId: v.optional(v.string()),
  source: v.optional(v.string()),
  formId: v.optional(v.nullable(v.string())),
  submittedAt: v.optional(v.string()),
  label: v.optional(v.pipe(v.string(), v.description("the question the value answered"))),
  method: v.optional(
    v.pipe(v.string(), v.description("how the mapper matched it: explicit, label, field-type, value-shape, derived")),
  ),
  editedAt: v.optional(v.string()),
  by: v.optional(v.string()),
});
const DetailSchema = v.object({
  ...PatientSchema.entries,
  timeline: v.array(
    v.object({
      eventId: v.string(),
      source: v.string(),
      formId: v.nullable(v.string()),
      submittedAt: v.string(),
      status: v.picklist(["merged", "conflict-open", "conflict-accepted", "conflict-dismissed"]),
      answers: v.record(v.string(), v.unknown()),
    }),
  ),
  origins: v.pipe(v.record(v.string(), Origin), v.description("canonical field → where its current value came from")),
});
const Warning = v.object({ code: v.literal("likely_duplicate"), message: v.string(), patientIds: v.array(v.string()) });
const MergeBody = v.strictObject({ from: v.pipe(Id, v.description("the patient merged into this one, then removed")) });

export interface PatientRouteDeps {
  sql: Sql;
  keys: Keys;
  redis: Redis;
  cacheTtlSeconds: number;
  log: Logger;
  /** Metrics of the cache-aside reads. */
  cacheMetrics: { hit(): void; miss(): void; error(): void };
  /** Erasure's JetStream sweep (shared/erase-streams.ts): the dashboard's NATS link and its sources. */
  nats?: NatsLink;
  sources?: ReadonlyMap<string, SourceConfig>;
}

const invalidId = () => errorResponse(400, "invalid_id", "patient id must be a number without leading zeros");
const notFound = (id: string) => errorResponse(404, "patient_not_found", `no patient ${id}`);
const issuesOf = (issues: readonly v.BaseIssue<unknown>[]) =>
  issues.map((i) => `${i.path?.map((p) => p.key).join(".") || "body"}: ${i.message}`).join("; ");

/** The actor fields of an audit entry for the caller (as audit.ts writes them). */
const actor = (p: Principal) => ({ actor: p.id, details: { actorName: p.name, role: p.role } });

/** Reads the listing's parameters into a query, or the 400 they deserve. */
function listQuery(
  principal: Principal,
  params: ListParams,
): { query: Omit<ListQuery, "limit" | "after">; cursor?: string; limit?: string } {
  const hasWords = Boolean(params.q?.trim());
  const sort: Sort = params.sort ?? (hasWords ? "relevance" : "created");
  return {
    query: {
      q: params.q,
      // A client-scoped caller sees its client only (row-level security enforces it; this narrows the search).
      clientId: isScoped(principal) ? principal.clientId : params.client,
      source: params.source,
      formId: params.form,
      from: params.from,
      to: params.to,
      sort,
      dir: params.dir ?? (sort === "name" ? "asc" : "desc"),
    },
    cursor: params.cursor,
    limit: params.limit === undefined ? undefined : String(params.limit),
  };
}

export function patientRoutes(deps: PatientRouteDeps) {
  const { sql, keys, log } = deps;
  // The audit trail's entity hashes are keyed; the keyring is fixed for the process's life.
  const hashKey = auditHashKey(keys.blindIndex);
  const cache = createPatientCache<PatientDetail>(deps.redis, { ttlSeconds: deps.cacheTtlSeconds, keys: keys.data });
  // A detail goes through the cache when this pod read it within its entry's lifetime (cache-admission.ts).
  const admission = recentReadAdmission({ windowMs: deps.cacheTtlSeconds * 1000 });

  // Reads are audited by group commit (audit-batch.ts): served once their entry is committed.
  const readAudit = auditBatcher(sql);
  // Listings open each row once a version (row-cache.ts).
  const rowCache = createRowCache();

  /**
   * One patient for `principal`, returned only once its read is committed to the audit trail
   * (audit-batch.ts; a failed append fails the read). Unscoped callers read without a
   * transaction (under READ COMMITTED one would give its statements no common snapshot anyway),
   * through the patient cache (shared/patient-cache.ts: cache-aside with a generation) when this
   * pod read the patient recently (cache-admission.ts; a first read is counted as a miss); a
   * client-scoped caller reads through its scope (row-level security), never the shared cache.
   */
  async function auditedDetail(principal: Principal, id: string): Promise<PatientDetail | null> {
    const audited = async (patient: PatientDetail | null) => {
      if (patient) await readAudit.record(patientRead(principal, patient.id));
      return patient;
    };
    if (isScoped(principal)) return audited(await withScope(sql, principal, (tx) => getPatientDetail(tx, keys, id)));
    if (!admission.admit(id)) {
      deps.cacheMetrics.miss();
      return audited(await getPatientDetail(sql, keys, id));
    }
    let generation: string | undefined;
    try {
      const lookup = await cache.get(id);
      if (lookup.hit) {
        deps.cacheMetrics.hit();
        // Served only once the read is in the audit trail (a cache hit too).
        return audited(lookup.value);
      }
      deps.cacheMetrics.miss();
      generation = lookup.generation;
    } catch (error) {
      deps.cacheMetrics.error();
      log.warn({ err: (error as Error).message }, "cache read failed; using database");
    }
    const patient = await getPatientDetail(sql, keys, id);
    // Without the generation read before the database read, storing could cache a stale row.
    if (patient && generation !== undefined) cache.put(id, generation, patient).catch(() => {});
    return audited(patient);
  }

  const invalidate = (ids: string[]) => {
    // Not needed for correctness (a listing checks each row's version) but for what stays in memory.
    rowCache.forget(ids);
    return cache
      .invalidate(ids)
      .catch((error) => log.warn({ err: (error as Error).message }, "cache invalidation failed"));
  };

  async function page(principal: Principal, params: ListParams): Promise<Response> {
    const { query, cursor, limit } = listQuery(principal, params);
    return keysetPage(
      ListCursor,
      { cursor, limit },
      async (n, after) => {
        if (after && (after.s !== query.sort || after.d !== query.dir || !positionFits(after))) throw new WrongCursor();
        const list = { ...query, limit: n, after };
        // An unscoped caller's listing needs no transaction (scope.ts sets the client in one).
        const rows = isScoped(principal)
          ? await withScope(sql, principal, (tx) => listPatients(tx, keys, rowCache, list))
          : await listPatients(sql, keys, rowCache, list);
        return listedFor(principal.role, rows);
      },
      (last: ListedPatient) => ({ s: query.sort, d: query.dir, k: last[SORT_KEY], id: last.id }),
    ).catch((error) => {
      if (error instanceof WrongCursor)
        return errorResponse(400, "invalid_cursor", "cursor belongs to another sort; start again without it");
      throw error;
    });
  }

  return (
    new Elysia()
      // Kept for existing clients; a search term here ends up in URLs and access logs of any
      // proxy on the way, so the page and new clients use POST …/search.
      .get(
        "/api/v1/patients",
        (context) => {
          const parsed = v.safeParse(ListParams, context.query);
          if (!parsed.success) return errorResponse(400, "invalid_request", issuesOf(parsed.issues));
          return page(callerOf(context), parsed.output);
        },
        routeDoc({
          summary:
            "List or search patients. A search term in the URL reaches proxies' access logs: prefer POST /api/v1/patients/search",
          query: ListParams,
          responses: { 200: ["a page of patients (viewers: masked)", PatientPage], 400: "bad parameter or cursor" },
        }),
      )
      .post(
        "/api/v1/patients/search",
        (context) => {
          const parsed = v.safeParse(ListParams, context.body);
          if (!parsed.success || Array.isArray(context.body))
            return errorResponse(
              400,
              "invalid_request",
              parsed.success ? "send a JSON object" : issuesOf(parsed.issues),
            );
          return page(callerOf(context), parsed.output);
        },
        routeDoc({
          summary: "Search or list patients, the parameters in the body so that a search stays out of URLs",
          body: ListParams,
          responses: { 200: ["a page of patients (viewers: masked)", PatientPage], 400: "bad parameter or cursor" },
        }),
      )
      .get(
        "/api/v1/patients/:id",
        async (context) => {
          const { params } = context;
          if (!ID.test(params.id)) return invalidId();
          const patient = await auditedDetail(callerOf(context), params.id);
          if (!patient) return notFound(params.id);
          return json(patient);
        },
        routeDoc({
          summary:
            "One patient, whole (audited), with its timeline of submissions and where each field's value came from",
          params: IdParams,
          responses: { 200: ["the patient", DetailSchema], 404: "no such patient (or not the caller's client)" },
        }),
      )
      .post(
        "/api/v1/patients",
        async (context) => {
          const principal = callerOf(context);
          const parsed = v.safeParse(NewPatientBody, context.body);
          if (!parsed.success) return errorResponse(400, "invalid_patient", issuesOf(parsed.issues));
          const { values, invalid } = canonicalInput(parsed.output);
          if (invalid.length)
            return errorResponse(400, "invalid_patient", `these values are not valid: ${invalid.join(", ")}`);
          if (!values.firstName && !values.lastName && !values.fullName && !values.email)
            return errorResponse(400, "invalid_patient", "give at least a name or an email");
          const clientId = isScoped(principal) ? principal.clientId : (parsed.output.clientId ?? null);
          // In the caller's scope: a client-scoped editor's duplicate checks see its client's patients only.
          const outcome = await withScope(sql, principal, async (tx) => {
            // A client that does not exist is the request's error (the foreign key made it a 500).
            if (clientId !== null && (await tx`select 1 from clients where id = ${clientId}::bigint`).length === 0)
              return "unknown_client" as const;
            const duplicates = await likelyDuplicates(tx, keys, values, clientId);
            const now = new Date();
            const eventId = `manual-${crypto.randomUUID()}`;
            const state = {
              values: Object.fromEntries(
                MERGED_FIELDS.map((f) => [f, values[f] ?? null]),
              ) as LockedPatient["state"]["values"],
              answers: {},
              source: "manual",
              formId: null,
              lastEventId: eventId,
              submittedAt: now,
            };
            // Inserted with its client, so the email is checked against that client's patients (011's key).
            const [row] = await insertPatients(tx, keys, [{ email: values.email ?? null, state, clientId }], true);
            if (!row) return "duplicate_email" as const;
            const edits: ManualEdits = Object.fromEntries(
              Object.keys(values).map((f) => [f, { at: now.toISOString(), by: principal.id }]),
            );
            await tx`update patients set manual_edits = ${tx.json(edits)}, client_id = ${clientId}::bigint where id = ${row.id}::bigint`;
            const after = patientState({ id: row.id, email: values.email ?? null, eventsCount: 1, state });
            await recordAudit(tx, {
              ...actor(principal),
              action: "patient.create",
              entityType: "patient",
              entityId: row.id,
              changedFields: Object.keys(values),
              afterHash: entityHash(hashKey, after),
              details: { ...actor(principal).details, hashKey: hashKey.id },
            });
            return { id: row.id, duplicates };
          });
          if (outcome === "unknown_client") return errorResponse(400, "unknown_client", `no client ${clientId}`);
          if (outcome === "duplicate_email")
            return errorResponse(409, "duplicate_email", "a patient with this email exists; search for it by email");
          const patient = await withScope(sql, principal, (tx) => getPatientDetail(tx, keys, outcome.id));
          const warnings = outcome.duplicates.length
            ? [
                {
                  code: "likely_duplicate",
                  message:
                    "patients with the same name and date of birth or phone exist; merge if they are the same person",
                  patientIds: outcome.duplicates,
                },
              ]
            : [];
          return json({ patient, warnings }, 201);
        },
        routeDoc({
          summary:
            "Add a patient by hand. Values are checked as a webhook's answers are (same normalizers); a likely duplicate (same name with the same birth date or phone) is created with a warning",
          body: NewPatientBody,
          responses: {
            201: ["the patient, and warnings", v.object({ patient: DetailSchema, warnings: v.array(Warning) })],
            400: "invalid values (code invalid_patient, naming the fields)",
            409: "a patient with this email exists (code duplicate_email)",
          },
        }),
      )
      .patch(
        "/api/v1/patients/:id",
        async (context) => {
          const { params } = context;
          if (!ID.test(params.id)) return invalidId();
          const principal = callerOf(context);
          const parsed = v.safeParse(PatientPatchBody, context.body);
          if (!parsed.success) return errorResponse(400, "invalid_patient", issuesOf(parsed.issues));
          const cleared = Object.entries(parsed.output)
            .filter(([, value]) => value === null)
            .map(([k]) => k);
          const { values, invalid } = canonicalInput(parsed.output, false);
          if (invalid.length)
            return errorResponse(400, "invalid_patient", `these values are not valid: ${invalid.join(", ")}`);
          const fields = [...Object.keys(values), ...cleared];
          if (fields.length === 0) return errorResponse(400, "invalid_patient", "send at least one field");
          const outcome = await withScope(sql, principal, async (tx) => {
            const patient = await lockPatient(tx, keys, params.id);
            if (!patient) return null;
            const before = patientState(patient);
            const next = { ...patient.state.values } as Record<string, unknown>;
            let email = patient.email;
            for (const f of fields) {
              const value = (values as Record<string, unknown>)[f] ?? null;
              if (f === "email") email = value as string | null;
              else next[f] = value;
            }
            const edited: LockedPatient = {
              ...patient,
              email,
              state: { ...patient.state, values: next as LockedPatient["state"]["values"] },
            };
            try {
              await tx.savepoint((sp) => writePatients(sp as unknown as TransactionSql, keys, [edited]));
            } catch (error) {
              if ((error as { code?: string }).code === "23505") return "duplicate_email" as const;
              throw error;
            }
            const at = new Date().toISOString();
            const edits = Object.fromEntries(fields.map((f) => [f, { at, by: principal.id }]));
            await tx`update patients set manual_edits = manual_edits || ${tx.json(edits)} where id = ${params.id}::bigint`;
            const after = patientState(edited);
            await recordAudit(tx, {
              ...actor(principal),
              action: "patient.update",
              entityType: "patient",
              entityId: params.id,
              changedFields: changedFields(before, after),
              beforeHash: entityHash(hashKey, before),
              afterHash: entityHash(hashKey, after),
              details: { ...actor(principal).details, manual: true, hashKey: hashKey.id },
            });
            return params.id;
          });
          if (outcome === null) return notFound(params.id);
          if (outcome === "duplicate_email")
            return errorResponse(409, "duplicate_email", "another patient has this email; merge the two instead");
          await invalidate([params.id]);
          return json(await withScope(sql, principal, (tx) => getPatientDetail(tx, keys, params.id)));
        },
        routeDoc({
          summary:
            "Edit a patient by hand (null clears a field). An edited field keeps its value against any submission made before the edit; a newer one still wins",
          params: IdParams,
          body: PatientPatchBody,
          responses: {
            200: ["the patient as it is now", DetailSchema],
            400: "invalid values (code invalid_patient)",
            404: "no such patient",
            409: "another patient has this email (code duplicate_email)",
          },
        }),
      )
      .post(
        "/api/v1/patients/:id/merge",
        async (context) => {
          const { params } = context;
          if (!ID.test(params.id)) return invalidId();
          const principal = callerOf(context);
          const parsed = v.safeParse(MergeBody, context.body);
          if (!parsed.success) return errorResponse(400, "invalid_request", 'send {"from": "<patient id>"}');
          const from = parsed.output.from;
          if (from === params.id)
            return errorResponse(400, "invalid_request", "a patient cannot be merged into itself");
          const outcome = await withScope(sql, principal, (tx) =>
            mergePatients(tx, keys, hashKey, principal, params.id, from),
          );
          if (typeof outcome === "string") return notFound(outcome);
          if (outcome)
            return errorResponse(
              409,
              "different_clients",
              "the two patients belong to different clients; a patient is merged only with one of its client's",
            );
          await invalidate([params.id, from]);
          return json(await withScope(sql, principal, (tx) => getPatientDetail(tx, keys, params.id)));
        },
        routeDoc({
          summary:
            "Merge patient `from` into this one: per field the later value wins (manual edits kept), its submissions, raw events and conflicts move here, then `from` is removed; audited",
          params: IdParams,
          body: MergeBody,
          responses: {
            200: ["the merged patient", DetailSchema],
            400: "bad request",
            404: "either patient missing",
            409: "the two patients belong to different clients",
          },
        }),
      )
      // Admin only (access.ts): erasure (shared/db/erase.ts), audited without the erased data.
      .delete(
        "/api/v1/patients/:id",
        async (context) => {
          const { params } = context;
          if (!ID.test(params.id)) return invalidId();
          const principal = callerOf(context);
          // Another client's patient does not exist for a client-scoped admin. Its email and
          // phone recognise its dead letters: read (and opened) before anything goes.
          const patient = await withScope(sql, principal, (tx) => lockPatient(tx, keys, params.id));
          if (!patient) return notFound(params.id);
          // Decoded as the projector would: runtime sources and saved corrections too.
          const sources = await withScope(sql, principal, (tx) => allMappableSources(tx, deps.sources ?? new Map()));
          const erased = await erasePatientEverywhere(sql, patient, patientErasure(principal), {
            // The rows are gone whatever NATS does; the answer says whether the streams were swept.
            connection: () =>
              deps.nats ? deps.nats.get() : Promise.reject(new Error("the dashboard has no NATS link")),
            sources,
            // A Redis failure is logged (invalidate): the entry expires after CACHE_TTL_SECONDS.
            dropCache: () => invalidate([params.id]),
            keys,
          });
          if (!erased) return notFound(params.id);
          const { rows, streams } = erased;
          if (!streams.swept)
            log.warn({ patientId: params.id, reason: streams.reason }, "patient erased; JetStream not swept");
          return json({ erased: { id: params.id, ...rows }, streams });
        },
        routeDoc({
          summary:
            "Erase the patient (right to be forgotten): its row, conflicts, form submissions, raw events, cached copy and what JetStream holds of it (its messages, dead letters naming it); audited without its data. When JetStream cannot be swept the rows are erased anyway and `streams.swept` is false",
          params: IdParams,
          responses: {
            200: [
              "what was removed, counted",
              v.object({
                erased: v.object({
                  id: v.string(),
                  patients: v.number(),
                  conflicts: v.number(),
                  formSubmissions: v.number(),
                  webhookEvents: v.number(),
                }),
                streams: v.variant("swept", [
                  v.object({ swept: v.literal(true), webhooks: v.number(), deadLetters: v.number() }),
                  v.object({
                    swept: v.literal(false),
                    reason: v.pipe(v.picklist(["nats_unavailable", "sweep_failed"]), v.description("why not")),
                    message: v.string(),
                  }),
                ]),
              }),
            ],
            404: "no such patient",
          },
        }),
      )
  );
}

class WrongCursor extends Error {}

/**
 * Whether a cursor's position can be compared with its sort's column: a time sort's is the time
 * this API wrote (patient-list.ts, asText), a real one; Postgres would refuse anything else as a 500.
 */
function positionFits(after: ListCursor): boolean {
  if (after.s !== "updated" && after.s !== "submitted") return true;
  const k = after.k;
  if (typeof k !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(k)) return false;
  // A calendar time (no 13th month, no 31 February, no year 0): it reads back as written.
  const time = new Date(`${k.slice(0, 23)}Z`);
  return (
    !Number.isNaN(time.getTime()) && time.getUTCFullYear() > 0 && time.toISOString().slice(0, 23) === k.slice(0, 23)
  );
}

/**
 * Patients of `clientId` (null: the unassigned) a new one likely duplicates: the same name
 * (accents and case aside) with the same date of birth or phone. Names are matched in
 * patient_search (no row-level security, hence the client named); birth date and phone are
 * sealed, so the phone is compared by blind index and the birth date after opening the candidates'.
 */
async function likelyDuplicates(
  tx: TransactionSql,
  keys: Keys,
  values: { firstName?: string; lastName?: string; fullName?: string; dateOfBirth?: string; phone?: string },
  clientId: string | null,
): Promise<string[]> {
  const name = values.fullName ?? [values.firstName, values.lastName].filter(Boolean).join(" ");
  if (!name || (!values.dateOfBirth && !values.phone)) return [];
  const phones = values.phone ? lookupIndexes(keys.blindIndex, "phone", values.phone) : [];
  const rows = await tx`
    select p.id::text as id, ${tx.unsafe(packedColumns(PACKED_PATIENT_FIELDS).join(", "))},
      ${phones.length ? tx`p.phone_bidx = any(${byteaColumn(tx, phones, (i) => i)})` : tx`false`} as same_phone
    from patient_search s join patients p on p.id = s.id
    where (s.search_text = hookline_search_text(null, null, ${name}, null)
       or s.search_text like hookline_search_text(null, null, ${name}, null) || ' %')
      and s.client_id is not distinct from ${clientId}::bigint
    limit 50`;
  return rows
    .filter(
      (r) =>
        r.same_phone ||
        (values.dateOfBirth && openPacked(keys, PACKED_PATIENT_FIELDS, r).dateOfBirth === values.dateOfBirth),
    )
    .map((r) => r.id as string);
}

/** Merges patient `fromId` into `intoId` in `tx`; the id of a missing one instead when either is gone. */
async function mergePatients(
  tx: TransactionSql,
  keys: Keys,
  hashKey: EntityHashKey,
  principal: Principal,
  intoId: string,
  fromId: string,
): Promise<string | { refused: "different_clients" } | undefined> {
  // Both locked, lower id first: the order every writer of two patients uses here.
  const [first, second] = BigInt(intoId) < BigInt(fromId) ? [intoId, fromId] : [fromId, intoId];
  const a = await lockPatient(tx, keys, first);
  if (!a) return first;
  const b = await lockPatient(tx, keys, second);
  if (!b) return second;
  // Clients are separate organisations: one's submissions moved into another's patient would be
  // shown to that client's tokens. An unscoped admin sees both, and may not mix them.
  if ((a.clientId ?? null) !== (b.clientId ?? null)) return { refused: "different_clients" };
  const [into, from] = a.id === intoId ? [a, b] : [b, a];
  const before = patientState(into);
  const [editsRow] = await tx`select manual_edits from patients where id = ${fromId}::bigint`;
  const fromEdits = (editsRow?.manual_edits ?? {}) as ManualEdits;
  const merged = mergeSubmission(into.state, from.state);
  // A manual edit of either patient is kept: the newer one when both edited a field.
  const intoEdits = (into.state.manualEdits ?? {}) as ManualEdits;
  const edits: ManualEdits = { ...intoEdits };
  for (const [f, e] of Object.entries(fromEdits)) {
    const mine = intoEdits[f];
    if (!mine || Date.parse(e.at) > Date.parse(mine.at)) {
      edits[f] = e;
      if (MERGED_FIELDS.includes(f as MergedField))
        (merged.values as Record<string, unknown>)[f] = (from.state.values as Record<string, unknown>)[f];
    }
  }
  // The email stays the target's; the other's is taken only when the target has none.
  const email = into.email ?? from.email;
  await tx`update form_submissions set patient_id = ${intoId}::bigint where patient_id = ${fromId}::bigint`;
  await tx`update webhook_events set patient_id = ${intoId}::bigint where patient_id = ${fromId}::bigint`;
  await tx`update patient_conflicts set patient_id = ${intoId}::bigint where patient_id = ${fromId}::bigint`;
  await tx`delete from patients where id = ${fromId}::bigint`;
  const after: LockedPatient = { id: intoId, email, eventsCount: into.eventsCount + from.eventsCount, state: merged };
  await writePatients(tx, keys, [after]);
  await tx`update patients set manual_edits = ${tx.json(edits)} where id = ${intoId}::bigint`;
  const afterState = patientState(after);
  const who = actor(principal);
  await recordAudit(tx, [
    {
      ...who,
      action: "patient.merge",
      entityType: "patient",
      entityId: fromId,
      beforeHash: entityHash(hashKey, patientState(from)),
      details: { ...who.details, mergedInto: intoId, hashKey: hashKey.id },
    },
    {
      ...who,
      action: "patient.update",
      entityType: "patient",
      entityId: intoId,
      changedFields: changedFields(before, afterState),
      beforeHash: entityHash(hashKey, before),
      afterHash: entityHash(hashKey, afterState),
      details: { ...who.details, mergedFrom: fromId, hashKey: hashKey.id },
    },
  ]);
}
