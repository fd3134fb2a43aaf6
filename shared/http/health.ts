import { Elysia } from "elysia";
import { json } from "./errors.ts";

export type ReadinessCheck = () => Promise<boolean> | boolean;

/**
 * /health/live answers while the process runs; /health/ready runs every named check
 * and answers 503 listing the failing ones, so a load balancer stops routing to it.
 * `report` adds facts to /health/ready's body that do not decide readiness (the age of the
 * encryption keys, with a warning past 90 days).
 */
export function healthRoutes(
  checks: Record<string, ReadinessCheck>,
  isDraining: () => boolean = () => false,
  report: () => Record<string, unknown> = () => ({}),
) {
  return new Elysia({ name: "health" })
    .get("/health/live", () => json({ status: "ok" }))
    .get("/health/ready", async () => {
      const results: Record<string, boolean> = {};
      await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          try {
            results[name] = await check();
          } catch {
            results[name] = false;
          }
        }),
      );
      const ready = !isDraining() && Object.values(results).every(Boolean);
      return json(
        { status: ready ? "ready" : "not_ready", draining: isDraining(), checks: results, ...report() },
        ready ? 200 : 503,
      );
    });
}
