// Composition root of the projector: config → NATS, Postgres → consume loop + health.
import { jetstream } from "@nats-io/jetstream";
import { Elysia } from "elysia";
import { createDb } from "../../shared/db/client.ts";
import { migrate } from "../../shared/db/migrate.ts";
import { healthRoutes } from "../../shared/http/health.ts";
import { createLogger } from "../../shared/logger.ts";
import { DEFAULT_CONSUMER_LIMITS, PROJECTOR_CONSUMER, STREAM, connectNats, provisionJetStream } from "../../shared/nats.ts";
import { onShutdown } from "../../shared/shutdown.ts";
import { loadSources } from "../../shared/sources/index.ts";
import { readProjectorConfig } from "./config.ts";
import { createDeadLetter } from "./dead-letter.ts";
import { startProjector } from "./loop.ts";

const config = readProjectorConfig();
const log = createLogger("projector", config.logLevel);
const sources = loadSources(config.sourcesFile);
const sql = createDb(config.databaseUrl, { name: "hookline-projector", max: 4 });
const nc = await connectNats(config.natsUrl, "hookline-projector", log);
if (config.provision) {
  await migrate(sql);
  await provisionJetStream(nc, undefined, { ...DEFAULT_CONSUMER_LIMITS, maxDeliver: config.maxDeliver, ackWaitSeconds: config.ackWaitSeconds });
}
const js = jetstream(nc);
const consumer = await js.consumers.get(STREAM, PROJECTOR_CONSUMER);

let draining = false;
const projector = await startProjector({
  consumer,
  sql,
  sources,
  deadLetter: createDeadLetter(js),
  log,
  batchSize: config.batchSize,
  batchDelayMs: config.batchDelayMs,
  maxDeliver: config.maxDeliver,
  onBatch: (s) => log.debug(s, "batch committed"),
});

const app = new Elysia().use(
  healthRoutes(
    {
      nats: () => !nc.isClosed(),
      postgres: async () => (await sql`select 1 as ok`).length === 1,
      projecting: () => projector.healthy(),
    },
    () => draining,
  ),
);
app.listen({ hostname: config.serviceHost, port: config.port });
log.info({ url: `http://${config.serviceHost}:${config.port}`, batchSize: config.batchSize }, "projector consuming");

onShutdown(log, async () => {
  draining = true;
  await projector.stop();
  await app.stop();
  await nc.drain();
  await sql.end({ timeout: 5 });
});
