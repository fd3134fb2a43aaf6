import type { Logger } from "./logger.ts";

/**
 * Runs `drain` once on SIGTERM/SIGINT, then exits. A second signal exits at once.
 */
export function onShutdown(log: Logger, drain: () => Promise<void>, timeoutMs = 25_000): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, "draining");
    const timer = setTimeout(() => {
      log.error("drain timed out; exiting");
      process.exit(1);
    }, timeoutMs);
    drain()
      .then(() => {
        clearTimeout(timer);
        log.info("stopped");
        process.exit(0);
      })
      .catch((error) => {
        log.error({ err: error }, "drain failed");
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => handler("SIGTERM"));
  process.on("SIGINT", () => handler("SIGINT"));
}
