// Opened patient rows, kept briefly so that a listing does not open the same sealed values again
// on every request. A page of 50 opened six sealed values and parsed its answers for each row
// (about 1 ms of the dashboard's one thread, and 1.6-2.2 ms of reading the sealed bytes), while
// staff reload the same first pages all day. A listing now reads each row's id and version
// first and opens only the rows it has not opened in that version.
//
// The version is the row's xmin, the id of the transaction that wrote it: any update (the
// projector's, a PATCH, a merge, a key rotation's re-seal) writes a new row version with a new
// xmin, and a version that was never committed is never seen by a reader. So (id, xmin) names
// one content, and a cached row is served only when the database's current version is the same:
// nothing stale, whatever process wrote it. A patient erased or merged away is no longer listed
// by the database, so its cached row is never served again; erasure in this process also drops it
// here, and entries expire after TTL_MS wherever they came from, so that opened values do not
// stay in memory longer than that. Bounded to MAX_ROWS (the least recently used leave first).
import type { PatientSummary } from "./patients.ts";

/** At most about 860 bytes of heap an opened row (measured at 1M patients with its answers, which a listed row no longer has): some 4 MB in all. */
const MAX_ROWS = 5_000;
const TTL_MS = 60_000;

interface Entry {
  version: string;
  patient: PatientSummary;
  expires: number;
}

export interface RowCache {
  /** The row opened in `version`, or undefined. */
  get(id: string, version: string): PatientSummary | undefined;
  put(id: string, version: string, patient: PatientSummary): void;
  /** Drops rows (erased, merged away). */
  forget(ids: readonly string[]): void;
}

export function createRowCache(now: () => number = Date.now): RowCache {
  // A Map iterates in insertion order: re-inserting on use makes its first key the least recent.
  const rows = new Map<string, Entry>();
  return {
    get(id, version) {
      const e = rows.get(id);
      if (!e) return undefined;
      if (e.version !== version || e.expires <= now()) {
        rows.delete(id);
        return undefined;
      }
      rows.delete(id);
      rows.set(id, e);
      return e.patient;
    },
    put(id, version, patient) {
      rows.delete(id);
      rows.set(id, { version, patient, expires: now() + TTL_MS });
      // The least recent tenth at once: deleting one first key at a time made every put walk
      // past the deleted entries at the head of the map (8.5% of the CPU of a name search load).
      if (rows.size > MAX_ROWS) {
        let drop = rows.size - MAX_ROWS + MAX_ROWS / 10;
        for (const key of rows.keys()) {
          if (drop-- <= 0) break;
          rows.delete(key);
        }
      }
    },
    forget(ids) {
      for (const id of ids) rows.delete(id);
    },
  };
}
