// The one way dashboard code queries patient data on a caller's behalf: in a transaction whose
// hookline.client_id setting is the caller's client, so that Postgres's row-level security
// (migration 011) keeps a client-scoped token to its client's patients, submissions, raw events,
// conflicts, clients and sources, whatever the query's WHERE clause says. An unscoped caller
// (DASHBOARD_API_TOKENS, OIDC, a database token without --client) sees every row.
//
// set_config(..., true) is local to the transaction: it ends with it and never reaches the next
// user of the pooled connection.
import type { Sql, TransactionSql } from "postgres";
import { isRowId } from "../../shared/db/row-id.ts";

/** Whom a query runs for: a principal (auth.ts) or anything naming its client. */
export interface Scope {
  /** The client a scoped token is limited to (clients.id); unset or null: unscoped. */
  clientId?: string | null;
}

/** Whether `scope` is limited to one client. */
export const isScoped = (scope: Scope): scope is { clientId: string } =>
  typeof scope.clientId === "string" && scope.clientId !== "";

/**
 * Runs `fn` in a transaction under `scope`: for a scoped caller, every statement sees and may
 * write only its client's rows. Use the `tx` it is given for every query of patient data.
 */
export async function withScope<T>(sql: Sql, scope: Scope, fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
  return (await sql.begin(async (tx) => {
    if (isScoped(scope)) {
      // A client id is a bigint's text: anything else would be a bug upstream, refused here
      // rather than handed to the cast inside the policy.
      if (!isRowId(scope.clientId))
        throw Object.assign(new Error("a scope's client id must be a number without leading zeros"), {
          code: "invalid_scope",
        });
      await tx`select set_config('hookline.client_id', ${scope.clientId}, true)`;
    }
    return fn(tx);
  })) as T;
}
