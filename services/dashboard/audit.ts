// The dashboard's audit entries: who opened a patient's details, and who resolved a
// conflict (with the patient it changed). Each is appended in a transaction of the request
// (shared/audit/writer.ts): a read is served only once its entry is committed.
import { changedFields, patientState } from "../../shared/audit/entities.ts";
import type { AuditEntry } from "../../shared/audit/writer.ts";
import type { LockedPatient } from "../../shared/db/patients.ts";
import type { Principal } from "./auth.ts";

/**
 * The actor an entry names for the caller. Tokens carry no identity of their own yet (only a
 * role), so this is the role; once tokens have ids, the id goes here.
 */
function actorOf(principal: Principal): string {
  return `token-role:${principal.role}`;
}

/**
 * The caller, in a route of a plugin mounted behind bearerAuth: its context holds the principal
 * at run time, though the plugin's own types cannot show it.
 */
export function callerOf(context: object): Principal {
  const principal = (context as { principal?: Principal | null }).principal;
  if (!principal) throw Object.assign(new Error("route mounted outside bearerAuth"), { code: "no_principal" });
  return principal;
}

export function patientRead(principal: Principal, patientId: string): AuditEntry {
  return {
    actor: actorOf(principal),
    action: "patient.read",
    entityType: "patient",
    entityId: patientId,
    details: { role: principal.role },
  };
}

/**
 * Resolving conflict `conflict` (its row before and after, as the API shows it), and for an
 * accept the patient it merged into (locked before, and after the merge).
 */
export function conflictResolved(
  principal: Principal,
  action: "accept" | "dismiss",
  conflict: { before: Record<string, unknown>; after: Record<string, unknown> },
  patient?: { before: LockedPatient; after: LockedPatient },
): AuditEntry[] {
  const actor = actorOf(principal);
  const id = String(conflict.after.id);
  const entries: AuditEntry[] = [
    {
      actor,
      action: `conflict.${action}`,
      entityType: "patient_conflict",
      entityId: id,
      changedFields: changedFields(conflict.before, conflict.after),
      before: conflict.before,
      after: conflict.after,
      details: { patientId: String(conflict.after.patientId) },
    },
  ];
  if (patient) {
    const before = patientState(patient.before);
    const after = patientState(patient.after);
    entries.push({
      actor,
      action: "patient.update",
      entityType: "patient",
      entityId: patient.after.id,
      changedFields: changedFields(before, after),
      before,
      after,
      details: { conflictId: id },
    });
  }
  return entries;
}
