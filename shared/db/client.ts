import postgres, { type Sql } from "postgres";

export type { Sql };

export interface DbOptions {
  max?: number;
  /** Application name shown in pg_stat_activity. */
  name: string;
}

/** Readiness probe: the database answers a trivial query. */
export async function databaseAnswers(sql: Sql): Promise<boolean> {
  return (await sql`select 1 as ok`).length === 1;
}

export function createDb(url: string, opts: DbOptions): Sql {
  return postgres(url, {
    max: opts.max ?? 10,
    connection: { application_name: opts.name },
    onnotice: () => {},
    // bigint ids come back as strings; counts are cast to int in SQL where needed.
    types: {},
  });
}
