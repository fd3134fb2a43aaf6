// The dashboard in process (app.handle) without a database: every query resolves to no rows,
// and the cache is off (TTL 0), so Redis is never called. Tokens: admin, viewer and editor.
import { Writable } from "node:stream";
import type { Sql } from "postgres";
import { createDashboardApp } from "../../services/dashboard/app.ts";
import type { Redis } from "../../shared/cache.ts";
import { createLogger } from "../../shared/logger.ts";
import { createMetrics } from "../../shared/metrics.ts";
import type { SourceConfig } from "../../shared/sources/types.ts";
import { TEST_KEYS } from "../keys.ts";

export const ADMIN = { authorization: "Bearer admin-token-0123456789" };

/** A dashboard whose every query (and fragment) resolves to no rows. */
export function inProcessDashboard({ sources = new Map<string, SourceConfig>(), serveMetrics = true } = {}) {
  const query = () => Promise.resolve([]);
  const sql: Sql = Object.assign(query, {
    unsafe: () => "",
    // A transaction (withScope, audited reads) runs its queries on the same fake.
    begin: (fn: (tx: unknown) => unknown) => Promise.resolve(fn(sql)),
    json: (v: unknown) => v,
  }) as unknown as Sql;
  const app = createDashboardApp({
    sql,
    keys: TEST_KEYS,
    redis: {} as Redis,
    sources,
    apiTokens: "admin-token-0123456789=admin,viewer-token-0123456789=viewer,editor-token-0123456789=editor",
    cacheTtlSeconds: 0,
    log: createLogger("dashboard", "silent", new Writable({ write: (_c, _e, done) => done() })),
    metrics: createMetrics("dashboard"),
    serveMetrics,
    readiness: {},
  });
  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    app.handle(new Request(`http://dashboard.test${path}`, { method, headers, body }));
  return { app, call };
}
