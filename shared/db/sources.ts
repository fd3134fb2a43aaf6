// A source by name for re-mapping its events (the field-mapping routes, `hookline reproject`):
// the sources file's, or else a source created at runtime (services/dashboard/sources.ts), read
// from Postgres as the ingress and projector build it from the registry bucket, without its
// secrets: mapping a stored event needs the adapter and its settings, never a signature check.
import type { Sql } from "postgres";
import { type RuntimeSourceType, runtimeSourceConfig } from "../sources/runtime.ts";
import type { SourceConfig } from "../sources/types.ts";

export async function findMappableSource(
  sql: Sql,
  fileSources: ReadonlyMap<string, SourceConfig>,
  name: string,
): Promise<SourceConfig | undefined> {
  // The sources file wins for the names it defines, as at the ingress.
  const fromFile = fileSources.get(name);
  if (fromFile) return fromFile;
  const [row] = await sql<{ name: string; type: RuntimeSourceType; client_id: string; enabled: boolean }[]>`
    select name, type, client_id::text, enabled from sources where name = ${name}`;
  return (
    row && runtimeSourceConfig({ name: row.name, type: row.type, clientId: row.client_id, enabled: row.enabled }, [])
  );
}
