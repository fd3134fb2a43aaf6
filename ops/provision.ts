// Applies database migrations and creates/updates the JetStream streams and consumer.
// Idempotent: ./ops/up runs it on every start; pods may run it concurrently.
import { readConfig } from "../shared/config.ts";
import { createDb, explainDbFailure } from "../shared/db/client.ts";
import { migrate } from "../shared/db/migrate.ts";
import { createLogger } from "../shared/logger.ts";
import { connectNats, consumerLimits, provisionJetStream } from "../shared/nats.ts";
import { loadConnectionTls } from "../shared/tls.ts";
import { provisionConfigSpec } from "./provision-config.ts";

const config = readConfig(provisionConfigSpec);
const log = createLogger("provision", config.logLevel);
const tls = await loadConnectionTls(config, log);
const sql = createDb(config.databaseUrl, { name: "hookline-provision", max: 1, tls: tls.postgres });
const applied = await migrate(sql).catch((error) => {
  throw explainDbFailure(error);
});
log.info({ applied }, applied.length ? "migrations applied" : "schema up to date");
await sql.end();
const nc = await connectNats(config.natsUrl, "hookline-provision", log, { tls: tls.nats });
try {
  await provisionJetStream(nc, config, consumerLimits(config.ackWaitSeconds), log);
} catch (error) {
  // e.g. stream_migration_required: the message says what to run.
  log.error(
    { code: (error as { code?: unknown }).code, err: (error as Error).message },
    "provisioning JetStream failed",
  );
  await nc.close();
  process.exit(1);
}
log.info("streams WEBHOOKS, WEBHOOKS_DLQ and consumer projector ready");
await nc.close();
