// Group commit for the audit entries of reads (patient.read): a detail is served only once its
// entry is committed, as before, but concurrent reads share one append. Each append takes the
// chain's lock and holds it to its commit, which waits for the WAL to reach disk; one append per
// read made every detail wait in line for that lock and that flush (at 8 clients, p95 134-244 ms
// at 1M patients). An append is one statement (hookline_audit_append, migration 019), its own
// transaction: one round trip where a transaction took four. An append starts at once when none
// is running; entries that arrive while it runs wait for it and go together in the next one
// (one multi-row insert, one commit). Nothing waits for a timer, so a lone read costs what it
// did.
//
// Why it is still an audit trail an auditor can trust: every served read has a committed entry
// (the caller awaits its batch's commit before answering; when the append fails, every read in
// the batch fails with it and nothing is served); entries are appended in arrival order under
// the same lock and hash chain as every other writer's; a crash after the commit and before the
// answer records a read that was not delivered, never the reverse. The entry's time is its
// batch's commit time, at most one append later than the read.
import type { Sql } from "postgres";
import { type AuditEntry, recordAudit } from "../../shared/audit/writer.ts";

/** Entries per append at most (a burst is split rather than made one huge statement). */
const MAX_BATCH = 500;

interface Waiting {
  entry: AuditEntry;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface AuditBatcher {
  /** Resolves once `entry` is committed to the audit trail; rejects when its append failed. */
  record(entry: AuditEntry): Promise<void>;
}

export function auditBatcher(sql: Sql): AuditBatcher {
  let waiting: Waiting[] = [];
  let appending = false;

  async function appendAll(): Promise<void> {
    while (waiting.length) {
      const batch = waiting.slice(0, MAX_BATCH);
      waiting = waiting.slice(batch.length);
      try {
        await recordAudit(
          sql,
          batch.map((w) => w.entry),
        );
        for (const w of batch) w.resolve();
      } catch (error) {
        const failed = Object.assign(new Error("the audit entry of a read could not be recorded", { cause: error }), {
          code: "audit_failed",
        });
        for (const w of batch) w.reject(failed);
      }
    }
    appending = false;
  }

  return {
    record(entry) {
      const done = new Promise<void>((resolve, reject) => waiting.push({ entry, resolve, reject }));
      if (!appending) {
        appending = true;
        void appendAll();
      }
      return done;
    },
  };
}
