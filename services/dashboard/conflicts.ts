// Identity conflicts: submissions the projector stored but did not merge because they
// contradict the patient's name or date of birth (rule in shared/db/patient-merge.ts).
// Listing them, and resolving one: accept merges it as "later wins" would have, dismiss
// leaves the patient as it is. Registered inside the authenticated API.
import { Elysia } from "elysia";
import type { Row, Sql } from "postgres";
import * as v from "valibot";
import { recordAudit } from "../../shared/audit/writer.ts";
import type { Role } from "../../shared/auth/roles.ts";
import { auditHashKey } from "../../shared/crypto/audit-hash-key.ts";
import type { Keys } from "../../shared/crypto/keys.ts";
import { mergeSubmission } from "../../shared/db/patient-merge.ts";
import {
  type LockedPatient,
  lockPatient,
  openSubmission,
  type StoredSubmission,
  SUBMISSION_COLUMNS,
  submissionState,
  writePatients,
} from "../../shared/db/patients.ts";
import { ROW_ID } from "../../shared/db/row-id.ts";
import { errorResponse, json } from "../../shared/http/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import type { PatientCache } from "../../shared/patient-cache.ts";
import { callerOf, conflictResolved } from "./audit.ts";
import { maskPatientValues } from "./masking.ts";
import { keysetPage, PAGE_QUERY } from "./paging.ts";
import { getPatient, type PatientDto } from "./patients.ts";
import { routeDoc } from "./route-doc.ts";
import { withScope } from "./scope.ts";

export interface ConflictDto {
  id: string;
  patientId: string;
  eventId: string;
  /** The identity fields on which the submission differs from the patient. */
  fields: string[];
  /** The submission's canonical values, answers, source and form (patient data). */
  submission: StoredSubmission;
  submittedAt: string;
  status: "open" | "accepted" | "dismissed";
  createdAt: string;
  resolvedAt: string | null;
}

const STATUSES = ["open", "accepted", "dismissed"] as const;
const COLUMNS = `id, patient_id, event_id, fields, ${SUBMISSION_COLUMNS}, submitted_at, status, created_at, resolved_at`;

function toDto(keys: Keys, r: Row): ConflictDto {
  return {
    id: String(r.id),
    patientId: String(r.patient_id),
    eventId: r.event_id,
    fields: r.fields,
    submission: openSubmission(keys, r),
    submittedAt: r.submitted_at.toISOString(),
    status: r.status,
    createdAt: r.created_at.toISOString(),
    resolvedAt: r.resolved_at?.toISOString() ?? null,
  };
}

const ID = ROW_ID;
const Cursor = v.object({ id: v.pipe(v.string(), v.regex(ID)) });
const ResolveBody = v.object({ action: v.picklist(["accept", "dismiss"]) });
// For /openapi.json (route-doc.ts); the handlers check the same rules themselves.
const IdParams = v.object({ id: v.pipe(v.string(), v.regex(ID)) });
const ListQuery = v.object({ status: v.optional(v.picklist(STATUSES)), ...PAGE_QUERY });

/** A page of conflicts, newest first, after the `cursor` this API handed out; submissions masked for viewers. */
async function page(
  sql: Sql,
  keys: Keys,
  { role, clientId }: { role: Role; clientId?: string | null },
  query: Record<string, string | undefined>,
  filter: { status?: string; patientId?: string },
): Promise<Response> {
  if (filter.status !== undefined && !(STATUSES as readonly string[]).includes(filter.status)) {
    return errorResponse(400, "invalid_status", `status must be one of ${STATUSES.join(", ")}`);
  }
  return keysetPage(
    Cursor,
    query,
    async (limit, after) => {
      // In the caller's scope (scope.ts): a client-scoped token sees its client's patients' conflicts only.
      const rows = await withScope(
        sql,
        { clientId },
        (tx) => tx`
        select ${tx.unsafe(COLUMNS)} from patient_conflicts
        where true
          ${filter.status ? tx`and status = ${filter.status}` : tx``}
          ${filter.patientId ? tx`and patient_id = ${filter.patientId}::bigint` : tx``}
          ${after ? tx`and id < ${after.id}::bigint` : tx``}
        order by id desc
        limit ${limit}`,
      );
      const conflicts = rows.map((r) => toDto(keys, r));
      return role === "viewer"
        ? conflicts.map((c) => ({ ...c, submission: maskPatientValues(c.submission) }))
        : conflicts;
    },
    (last) => ({ id: last.id }),
  );
}

export interface ConflictDeps {
  sql: Sql;
  keys: Keys;
  patientCache: PatientCache<PatientDto>;
  log: Logger;
}

/** The conflict routes, as a plugin for the authenticated API. POST …/resolve writes: editor (access.ts). */
export function conflictRoutes({ sql, keys, patientCache, log }: ConflictDeps) {
  return new Elysia()
    .get(
      "/api/v1/conflicts",
      (context) => page(sql, keys, callerOf(context), context.query, { status: context.query.status ?? "open" }),
      routeDoc({
        summary: "Identity conflicts, newest first (status open by default); submissions masked for viewers",
        query: ListQuery,
        responses: { 200: "a page of conflicts", 400: "bad status or cursor" },
      }),
    )
    .get(
      "/api/v1/patients/:id/conflicts",
      (context) => {
        const { params, query } = context;
        if (!ID.test(params.id))
          return errorResponse(400, "invalid_id", "patient id must be a number without leading zeros");
        return page(sql, keys, callerOf(context), query, { status: query.status, patientId: params.id });
      },
      routeDoc({
        summary: "One patient's identity conflicts, newest first (any status unless given)",
        params: IdParams,
        query: ListQuery,
        responses: { 200: "a page of conflicts", 400: "bad id, status or cursor" },
      }),
    )
    .post(
      "/api/v1/conflicts/:id/resolve",
      async (context) => {
        const { params, body } = context;
        if (!ID.test(params.id))
          return errorResponse(400, "invalid_id", "conflict id must be a number without leading zeros");
        const parsed = v.safeParse(ResolveBody, body);
        if (!parsed.success)
          return errorResponse(400, "invalid_request", 'send {"action":"accept"} or {"action":"dismiss"}');
        const action = parsed.output.action;
        // Another client's conflict does not exist for a client-scoped caller (row-level security).
        const outcome = await withScope(sql, callerOf(context), async (tx) => {
          // Accepting changes the patient: its row is locked before the conflict's, the order
          // in which an erasure and a merge lock them (the patient, then its conflicts); the
          // conflict first deadlocked with them (Postgres aborted one, a 500). Dismissing locks
          // the conflict alone, so it waits for them or they for it, never in a cycle.
          const [peek] = await tx`select patient_id::text from patient_conflicts where id = ${params.id}::bigint`;
          if (!peek) return errorResponse(404, "conflict_not_found", `no conflict ${params.id}`);
          const patient = action === "accept" ? await lockPatient(tx, keys, peek.patient_id) : null;
          const [row] =
            await tx`select ${tx.unsafe(COLUMNS)} from patient_conflicts where id = ${params.id}::bigint for update`;
          if (!row) return errorResponse(404, "conflict_not_found", `no conflict ${params.id}`);
          if (row.status !== "open")
            return errorResponse(409, "conflict_resolved", `conflict ${params.id} is already ${row.status}`);
          // A merge moved it to another patient between the two reads: that one is not locked.
          if (action === "accept" && String(row.patient_id) !== peek.patient_id)
            return errorResponse(409, "conflict_moved", `conflict ${params.id} moved to another patient; try again`);
          let merged: { before: LockedPatient; after: LockedPatient } | undefined;
          if (action === "accept") {
            if (patient) {
              const before = { ...patient }; // its state is replaced below, not changed
              patient.state = mergeSubmission(
                patient.state,
                submissionState({ ...row, submission: openSubmission(keys, row) } as never),
              );
              await writePatients(tx, keys, [patient]);
              merged = { before, after: patient };
            }
          }
          const [done] = await tx`
            update patient_conflicts set status = ${action === "accept" ? "accepted" : "dismissed"}, resolved_at = now()
            where id = ${params.id}::bigint returning ${tx.unsafe(COLUMNS)}`;
          const resolved = toDto(keys, done!);
          // Last: the audit lock is held from here to the commit.
          await recordAudit(
            tx,
            conflictResolved(
              callerOf(context),
              action,
              auditHashKey(keys.blindIndex),
              { before: { ...toDto(keys, row) }, after: { ...resolved } },
              merged,
            ),
          );
          return resolved;
        });
        if (outcome instanceof Response) return outcome;
        // After the commit, so a reader cannot cache the old values again. Dismissing changes the
        // patient too: its openConflicts count.
        await patientCache
          .invalidate([outcome.patientId])
          .catch((error) => log.warn({ err: (error as Error).message }, "cache invalidation failed"));
        const patient = await withScope(sql, callerOf(context), (tx) => getPatient(tx, keys, outcome.patientId));
        return json({ conflict: outcome, patient });
      },
      routeDoc({
        summary:
          "Resolve an open identity conflict: accept merges the submission (later wins), dismiss leaves the patient as it is",
        params: IdParams,
        body: ResolveBody,
        responses: {
          200: "the resolved conflict and the patient",
          400: "bad id or body",
          404: "no such conflict (or another client's)",
          409: "the conflict is already resolved (conflict_resolved), or a merge moved it meanwhile (conflict_moved)",
        },
      }),
    );
}
