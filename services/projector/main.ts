// Composition root of the projector: config → NATS, Postgres → consume loop + health.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Elysia } from "elysia";
import { createRedis } from "../../shared/cache.ts";
import { traceRedis, traceSql } from "../../shared/client-spans.ts";
import { keyAges, warnAboutKeyAge } from "../../shared/crypto/key-age.ts";
import { loadKeys } from "../../shared/crypto/keys.ts";
import { createDb, databaseAnswers, explainDbFailure } from "../../shared/db/client.ts";
import { watchFieldMappings } from "../../shared/db/field-mappings.ts";
import { migrate } from "../../shared/db/migrate.ts";
import { sealBacklog } from "../../shared/db/rotate.ts";
import { projectorChecks } from "../../shared/health/service-checks.ts";
import { healthRoutes } from "../../shared/http/health.ts";
import { envTokensHealthAuthorizer } from "../../shared/http/health-auth.ts";
import { detailedHealthRoute } from "../../shared/http/health-detailed.ts";
import { createRequestIds } from "../../shared/http/request-id.ts";
import { createLogger } from "../../shared/logger.ts";
import { createMetrics, metricsRoute } from "../../shared/metrics.ts";
import {
  connectNats,
  consumerLimits,
  natsConnected,
  PROJECTOR_CONSUMER,
  provisionJetStream,
  STREAM,
} from "../../shared/nats.ts";
import { createPatientCache } from "../../shared/patient-cache.ts";
import { onShutdown } from "../../shared/shutdown.ts";
import { CorrectedSources } from "../../shared/sources/corrections.ts";
import { loadSources } from "../../shared/sources/index.ts";
import { watchRuntimeSources } from "../../shared/sources/runtime.ts";
import { createStatsCounter } from "../../shared/stats.ts";
import { watchStreamFill } from "../../shared/stream-fill.ts";
import { loadConnectionTls } from "../../shared/tls.ts";
import { startTracing } from "../../shared/tracing.ts";
import { readProjectorConfig } from "./config.ts";
import { createDeadLetterWriter } from "./dead-letter.ts";
import { startProjector } from "./loop.ts";
import { startMaintenance } from "./maintenance.ts";
import { createProjectorMetrics } from "./metrics.ts";

const config = readProjectorConfig();
const keys = loadKeys(config);
// Each HTTP request's id, on its response and its log lines (shared/http/request-id.ts).
const requestIds = createRequestIds();
const log = createLogger("projector", config.logLevel, undefined, { requestId: requestIds.current });
const tracing = startTracing("projector");
const sources = loadSources(config.sourcesFile);
const tls = await loadConnectionTls(config, log);
// One connection per concurrent batch, plus one for health checks.
const sql = traceSql(
  createDb(config.databaseUrl, { name: "hookline-projector", max: config.concurrency + 1, tls: tls.postgres }),
  tracing,
);
const nc = await connectNats(config.natsUrl, "hookline-projector", log, { tls: tls.nats });
if (config.provision) {
  await migrate(sql).catch((error) => {
    throw explainDbFailure(error);
  });
  await provisionJetStream(nc, config, consumerLimits(config.ackWaitSeconds), log);
}
// Rows an earlier version stored in clear (or, before 018, field by field) are sealed before
// anything new is projected: a patient's email in clear is not found by its blind index (and
// would be created twice).
await sealBacklog(sql, keys, log);
warnAboutKeyAge(log, keys);
// Sources created at runtime (shared/sources/runtime.ts) join `sources` before consuming starts.
const runtimeSources = watchRuntimeSources({
  nc,
  keyring: keys.data,
  sources,
  fileSources: new Set(sources.keys()),
  log,
});
await runtimeSources.ready;
const js = jetstream(nc);
const redis = traceRedis(createRedis(config.redisUrl, "hookline-projector", log, tls.redis), tracing);
const patientCache = createPatientCache(redis);
const countStats = createStatsCounter(redis);
const metrics = createMetrics("projector");
const projectorMetrics = createProjectorMetrics(metrics.meter);
// The lag KEDA scales on (hookline_consumer_*), from consumer info every 5 s.
const jsm = await jetstreamManager(nc);
const lagWatch = watchStreamFill({
  jsm,
  meter: metrics.meter,
  log,
  streams: [],
  consumers: [{ stream: STREAM, consumer: PROJECTOR_CONSUMER }],
});
const consumer = await js.consumers.get(STREAM, PROJECTOR_CONSUMER);
// Partitions ahead and raw-event retention, outside batches; the first round before consuming.
const maintenance = await startMaintenance({
  sql,
  log,
  retentionMonths: config.rawEventRetentionMonths,
  intervalMs: 3600_000,
});
// Operators' field-mapping corrections (shared/db/field-mappings.ts): every pod applies a saved
// correction to the next event it maps, without a restart.
const fieldMappings = watchFieldMappings(sql, log);
await fieldMappings.ready;

let draining = false;
const projector = await startProjector({
  consumer,
  sql,
  keys,
  sources: new CorrectedSources(sources, fieldMappings.current),
  deadLetter: createDeadLetterWriter(js),
  log,
  tracer: tracing.tracer,
  batchSize: config.batchSize,
  batchDelayMs: config.batchDelayMs,
  concurrency: config.concurrency,
  maxDeliver: config.maxDeliver,
  retryDelayMs: config.retryDelayMs,
  onBatch: (s) => {
    projectorMetrics.batch(s);
    log.debug(s, "batch committed");
  },
  onDeadLetter: projectorMetrics.deadLettered,
  // Write-through would race with concurrent projectors; invalidating (shared/patient-cache.ts) is always safe.
  onPatientsWritten: (ids) => {
    patientCache.invalidate(ids).catch((error) => log.warn({ err: error.message }, "cache invalidation failed"));
  },
  // A runtime source this pod has not loaded yet: its messages wait instead of being dead-lettered.
  sourceMayArrive: runtimeSources.mayArrive,
  // Counted after the commit; a batch that cannot be counted makes the dashboard rebuild them (shared/stats.ts).
  onEventsStored: (events) => {
    countStats(events).catch((error) => log.warn({ err: error.message }, "stats counters not updated"));
  },
});

const app = new Elysia()
  .use(requestIds.plugin())
  .use(metricsRoute(metrics))
  // Every dependency's state for operators, behind an admin token (shared/http/health-auth.ts).
  .use(
    detailedHealthRoute({
      service: "projector",
      checks: projectorChecks({ nc, jsm, sql, redis, keys }),
      authorize: envTokensHealthAuthorizer(config.healthTokens, log),
    }),
  )
  .use(
    healthRoutes(
      {
        nats: () => natsConnected(nc),
        postgres: () => databaseAnswers(sql),
        projecting: () => projector.healthy(),
      },
      () => draining,
      () => ({ keys: keyAges(keys) }),
    ),
  );
app.listen({ hostname: config.serviceHost, port: config.port });
log.info({ url: `http://${config.serviceHost}:${config.port}`, batchSize: config.batchSize }, "projector consuming");

onShutdown(log, async () => {
  draining = true;
  maintenance.stop();
  lagWatch.stop();
  runtimeSources.stop();
  await projector.stop();
  await app.stop();
  await nc.drain();
  await sql.end({ timeout: 5 });
  redis.disconnect();
  await tracing.shutdown();
});
