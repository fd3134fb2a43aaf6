// The dashboard's audit entries: who opened a patient's details, and who resolved a
// conflict (with the patient it changed). A change is appended in its own transaction
// (shared/audit/writer.ts); a read by group commit (audit-batch.ts). Either way nothing is
// served before its entry is committed.
import { type EntityHashKey, entityHash } from "../../shared/audit/canonical.ts";
import { changedFields, patientState } from "../../shared/audit/entities.ts";
import type { AuditEntry } from "../../shared/audit/writer.ts";
import type { Principal } from "../../shared/auth/bearer.ts";
import type { LockedPatient } from "../../shared/db/patients.ts";

/**
 * Who the entry names: the caller's id (token:<id> for a database token, env:<n> for the nth
 * DASHBOARD_API_TOKENS entry, oidc:<subject>), and in its details the name and role it had.
 */
const actorOf = (p: Principal) => ({ actor: p.id, details: { actorName: p.name, role: p.role } });

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
  return { ...actorOf(principal), action: "patient.read", entityType: "patient", entityId: patientId };
}

/** Who erases a patient (the entry itself is made by shared/db/erase.ts, with what was removed). */
export function patientErasure(principal: Principal): Pick<AuditEntry, "actor" | "details"> {
  return actorOf(principal);
}

/**
 * Resolving conflict `conflict` (its row before and after, as the API shows it), and for an
 * accept the patient it merged into (locked before, and after the merge). Hashes under
 * `hashKey` (shared/crypto/audit-hash-key.ts), named in details.
 */
export function conflictResolved(
  principal: Principal,
  action: "accept" | "dismiss",
  hashKey: EntityHashKey,
  conflict: { before: Record<string, unknown>; after: Record<string, unknown> },
  patient?: { before: LockedPatient; after: LockedPatient },
): AuditEntry[] {
  const { actor, details } = actorOf(principal);
  const id = String(conflict.after.id);
  const entries: AuditEntry[] = [
    {
      actor,
      action: `conflict.${action}`,
      entityType: "patient_conflict",
      entityId: id,
      changedFields: changedFields(conflict.before, conflict.after),
      beforeHash: entityHash(hashKey, conflict.before),
      afterHash: entityHash(hashKey, conflict.after),
      details: { ...details, patientId: String(conflict.after.patientId), hashKey: hashKey.id },
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
      beforeHash: entityHash(hashKey, before),
      afterHash: entityHash(hashKey, after),
      details: { ...details, conflictId: id, hashKey: hashKey.id },
    });
  }
  return entries;
}
