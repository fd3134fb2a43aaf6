// A source by name for re-mapping its events (the field-mapping routes, `hookline reproject`;
// every source at once for the erasure sweep's decoding):
// the sources file's, or else a source created at runtime (services/dashboard/sources.ts), read
// from Postgres as the ingress and projector build it from the registry bucket, without its
// secrets: mapping a stored event needs the adapter and its settings, never a signature check.
import type { Sql, TransactionSql } from "postgres";
import { withCorrections } from "../sources/corrections.ts";
import { type RuntimeSourceType, runtimeSourceConfig } from "../sources/runtime.ts";
import type { SourceConfig } from "../sources/types.ts";
import { readAllFormMappings, toCorrections } from "./field-mappings.ts";

interface SourceRow {
  name: string;
  type: RuntimeSourceType;
  client_id: string;
  enabled: boolean;
}

const fromRow = (row: SourceRow) =>
  runtimeSourceConfig({ name: row.name, type: row.type, clientId: row.client_id, enabled: row.enabled }, []);

export async function findMappableSource(
  sql: Sql,
  fileSources: ReadonlyMap<string, SourceConfig>,
  name: string,
): Promise<SourceConfig | undefined> {
  // The sources file wins for the names it defines, as at the ingress.
  const fromFile = fileSources.get(name);
  if (fromFile) return fromFile;
  const [row] = await sql<SourceRow[]>`select name, type, client_id::text, enabled from sources where name = ${name}`;
  return row && fromRow(row);
}

/**
 * Every source the caller's scope sees (the file's, then those created at runtime), each with
 * its forms' saved corrections: what the projector decodes with, for matching stored messages
 * (the erasure sweep) as the projector would read them.
 */
export async function allMappableSources(
  sql: Sql | TransactionSql,
  fileSources: ReadonlyMap<string, SourceConfig>,
): Promise<Map<string, SourceConfig>> {
  const all = new Map(fileSources);
  for (const row of await sql<SourceRow[]>`select name, type, client_id::text, enabled from sources`)
    if (!all.has(row.name)) all.set(row.name, fromRow(row));
  const forms = toCorrections(await readAllFormMappings(sql as Sql));
  for (const [name, source] of all) all.set(name, withCorrections(source, forms.get(name)));
  return all;
}
