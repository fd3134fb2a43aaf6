import postgres, { type Sql } from "postgres";
import type { Logger } from "../logger.ts";
import { explainTlsFailure, type PostgresSsl } from "../tls.ts";

export type { Sql };

export interface DbOptions {
  max?: number;
  /** Application name shown in pg_stat_activity. */
  name: string;
  /** From shared/tls.ts (loadConnectionTls); unset: whatever the URL's sslmode says to postgres.js. */
  tls?: PostgresSsl;
}

/** Readiness probe: the database answers a trivial query. */
export async function databaseAnswers(sql: Sql): Promise<boolean> {
  return (await sql`select 1 as ok`).length === 1;
}

/** A failure to reach the database, said plainly when TLS refused the server (which one, which variable). */
export function explainDbFailure(error: unknown): unknown {
  return explainTlsFailure("postgres", error) ?? error;
}

/**
 * One query at start, so that a database refusing this client (an untrusted TLS certificate, a
 * wrong password) is said in the log, not only by a failing readiness check. Never throws: a
 * database that is down at start is tried again by the next query.
 */
export function reportDatabaseAtStart(sql: Sql, log: Logger): void {
  databaseAnswers(sql).catch((error) =>
    log.error({ err: (explainDbFailure(error) as Error).message }, "database not reachable"),
  );
}

export function createDb(url: string, opts: DbOptions): Sql {
  return postgres(url, {
    max: opts.max ?? 10,
    connection: { application_name: opts.name },
    onnotice: () => {},
    // bigint ids come back as strings; counts are cast to int in SQL where needed.
    types: {},
    ...(opts.tls === undefined ? {} : { ssl: opts.tls }),
  });
}
