// GET /health/detailed: every dependency's state at once, for an operator at 3 a.m.
// `healthy`, `degraded` (working, something needs attention: Redis down, a stream nearly full)
// or `unhealthy` (not doing its job: NATS or Postgres unreachable), with the reasons. It
// names servers, versions, lag and replication, which helps an attacker too, so it needs a
// bearer token (never answered without one); the probes stay /health/live and /health/ready.
import { Elysia } from "elysia";
import { type CheckResult, type HealthCheck, type HealthStatus, versionInfo } from "../health/checks.ts";
import { errorResponse, json } from "./errors.ts";

/** Why a caller may not see it: the error the route answers with. */
interface HealthRefusal {
  status: 401 | 403 | 503;
  code: string;
  message: string;
}

/** "ok" for a caller who may read the details, else why not. */
export type HealthAuthorizer = (authorization: string | null) => Promise<"ok" | HealthRefusal>;

export interface DetailedHealthDeps {
  service: string;
  checks: Record<string, HealthCheck>;
  authorize: HealthAuthorizer;
  /** A check that has not answered by then counts as down. */
  timeoutMs?: number;
}

const RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

/** Runs one check within the time limit; a throw or a timeout is its `whenDown` status. */
async function runCheck(check: HealthCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([check.run(), timeout]);
  } catch (error) {
    // The message only (a connection error's text names the host, never a credential).
    return { status: check.whenDown, reason: (error as Error).message || String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** Every check at once; the worst status wins, and each check that is not healthy says why. */
export async function detailedHealth(
  checks: Record<string, HealthCheck>,
  timeoutMs = 2000,
): Promise<{ status: HealthStatus; reasons: string[]; checks: Record<string, CheckResult> }> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => [name, await runCheck(check, timeoutMs)] as const),
  );
  let status: HealthStatus = "healthy";
  const reasons: string[] = [];
  for (const [name, result] of entries) {
    if (RANK[result.status] > RANK[status]) status = result.status;
    if (result.status !== "healthy") reasons.push(`${name}: ${result.reason ?? result.status}`);
  }
  return { status, reasons, checks: Object.fromEntries(entries) };
}

/** The route; 200 while healthy or degraded, 503 when unhealthy (so a monitor can alert on the code). */
export function detailedHealthRoute(deps: DetailedHealthDeps) {
  return new Elysia({ name: "health-detailed" }).get("/health/detailed", async ({ request }) => {
    const allowed = await deps.authorize(request.headers.get("authorization"));
    if (allowed !== "ok") {
      const headers: Record<string, string> = allowed.status === 401 ? { "www-authenticate": "Bearer" } : {};
      return errorResponse(allowed.status, allowed.code, allowed.message, headers);
    }
    const report = await detailedHealth(deps.checks, deps.timeoutMs);
    return json(
      {
        status: report.status,
        reasons: report.reasons,
        service: deps.service,
        checkedAt: new Date().toISOString(),
        version: versionInfo(),
        checks: report.checks,
      },
      report.status === "unhealthy" ? 503 : 200,
      { "cache-control": "no-store" },
    );
  });
}
