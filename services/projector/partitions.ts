// Monthly partitions of webhook_events. Creating one takes an ACCESS EXCLUSIVE lock on
// webhook_events (every batch and every dashboard read of events waits), so it is never done
// inside a batch's transaction: maintenance creates the coming months ahead, and a batch
// that meets a month without a partition (a replayed old event) has it created in a short
// transaction of its own before it is written again.
import postgres, { type Sql } from "postgres";

/** Months after the current one whose partitions maintenance keeps ready. */
const MONTHS_AHEAD = 2;

/** Postgres found no partition of webhook_events for a row's received_at. */
export function isMissingPartition(error: unknown): boolean {
  return (
    error instanceof postgres.PostgresError &&
    error.code === "23514" &&
    error.routine === "ExecFindPartition" &&
    error.table_name === "webhook_events"
  );
}

/** Creates the partitions of the months these timestamps fall in, each in its own short transaction. */
export async function ensurePartitions(sql: Sql, timestamps: readonly Date[]): Promise<void> {
  const months = new Map(timestamps.map((t) => [t.toISOString().slice(0, 7), t]));
  for (const t of months.values()) await sql`select hookline_ensure_month_partition(${t})`;
}

/** Creates the current month's partition and the next MONTHS_AHEAD ones (by the database's clock). */
export async function ensurePartitionsAhead(sql: Sql): Promise<void> {
  for (let m = 0; m <= MONTHS_AHEAD; m++)
    await sql`select hookline_ensure_month_partition(now() + make_interval(months => ${m}))`;
}
