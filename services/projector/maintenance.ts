// Periodic upkeep outside batches, one projector pod at a time (a session advisory lock;
// a pod that finds it taken skips the round): create the coming months' partitions, and
// with a retention set, drop the raw events older than it together with their guard rows.
import type { Sql } from "postgres";
import { failureReason } from "../../shared/db/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import { ensurePartitionsAhead } from "./partitions.ts";

// Arbitrary but fixed ("hookmnt" in ASCII); migrations use another key.
export const MAINTENANCE_LOCK = 0x686f6f6b6d6e74n;
/** Guard rows deleted per statement, so no single transaction grows large. */
const DELETE_CHUNK = 10_000;

export interface MaintenanceResult {
  /** Another pod held the lock: this round did nothing. */
  skipped: boolean;
  droppedPartitions: string[];
  deletedGuardRows: number;
  /** Erasure tombstones past ERASURE_TOMBSTONE_DAYS deleted (migration 022). */
  deletedTombstones: number;
}

/**
 * Days an erasure's tombstone (migration 022, erased.ts) is kept: it stops a webhook received
 * before the erasure from bringing the patient back, and no webhook waits this long to be
 * projected (dead letters naming the patient are swept at the erasure; their default age limit
 * is 30 days). A keyed hash of the email, so it is not kept longer than it serves.
 */
export const ERASURE_TOMBSTONE_DAYS = 90;

/**
 * One round. Raw events (webhook_events partitions) wholly older than `retentionMonths`
 * full months before the current one are dropped; 0 keeps them forever. The guard rows of
 * the same period go only after their partitions are gone: a guard row without its event
 * is harmless, an event without its guard row would be admitted again and then collide.
 */
export async function runMaintenance(sql: Sql, opts: { retentionMonths: number }): Promise<MaintenanceResult> {
  const result: MaintenanceResult = { skipped: true, droppedPartitions: [], deletedGuardRows: 0, deletedTombstones: 0 };
  // A session lock must stay on one connection for the whole round.
  const conn = await sql.reserve();
  try {
    const [lock] = await conn`select pg_try_advisory_lock(${MAINTENANCE_LOCK.toString()}::bigint) as ok`;
    if (!lock!.ok) return result;
    result.skipped = false;
    try {
      await ensurePartitionsAhead(conn);
      const tombstones = await conn`
        delete from patient_erasures where erased_at < now() - make_interval(days => ${ERASURE_TOMBSTONE_DAYS})`;
      result.deletedTombstones = tombstones.count;
      if (opts.retentionMonths <= 0) return result;
      const [{ cutoff }] = (await conn`
        select (date_trunc('month', now() at time zone 'UTC') - make_interval(months => ${opts.retentionMonths}))
          at time zone 'UTC' as cutoff`) as unknown as [{ cutoff: Date }];
      // A reserved connection has no begin(): the transaction is spelled out.
      await conn`begin`;
      try {
        // Dropping a partition locks webhook_events: give up quickly (next round retries)
        // rather than queue every batch behind this statement while it waits.
        await conn`set local lock_timeout = '2s'`;
        const dropped = await conn<{ name: string }[]>`select hookline_drop_month_partitions_before(${cutoff}) as name`;
        await conn`commit`;
        result.droppedPartitions = dropped.map((r) => r.name);
      } catch (error) {
        await conn`rollback`.catch(() => {});
        throw error;
      }
      for (;;) {
        const deleted = await conn`
          delete from webhook_event_ids where event_id in (
            select event_id from webhook_event_ids where received_at < ${cutoff} limit ${DELETE_CHUNK})`;
        result.deletedGuardRows += deleted.count;
        if (deleted.count < DELETE_CHUNK) break;
      }
      return result;
    } finally {
      await conn`select pg_advisory_unlock(${MAINTENANCE_LOCK.toString()}::bigint)`.catch(() => {});
    }
  } finally {
    conn.release();
  }
}

export interface MaintenanceDeps {
  sql: Sql;
  log: Logger;
  retentionMonths: number;
  intervalMs: number;
}

/** Runs a round now (awaited: the coming partitions exist before the first batch) and then every intervalMs. */
export async function startMaintenance(deps: MaintenanceDeps): Promise<{ stop(): void }> {
  const round = async () => {
    try {
      const r = await runMaintenance(deps.sql, { retentionMonths: deps.retentionMonths });
      if (r.droppedPartitions.length || r.deletedGuardRows) deps.log.info(r, "raw events past retention dropped");
    } catch (error) {
      // Next round retries; a batch meeting a missing partition creates it itself.
      deps.log.warn({ reason: failureReason(error) }, "maintenance round failed");
    }
  };
  await round();
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    running ??= round().finally(() => (running = null));
  }, deps.intervalMs);
  timer.unref?.();
  return { stop: () => clearInterval(timer) };
}
