// Composition root of the dashboard: config → Postgres, Redis → API + page; drains on SIGTERM.
import { Elysia } from "elysia";
import { createRedis } from "../../shared/cache.ts";
import { traceRedis, traceSql } from "../../shared/client-spans.ts";
import { warnAboutKeyAge } from "../../shared/crypto/key-age.ts";
import { loadKeys } from "../../shared/crypto/keys.ts";
import { createDb, databaseAnswers, reportDatabaseAtStart } from "../../shared/db/client.ts";
import { dashboardChecks } from "../../shared/health/service-checks.ts";
import { createRequestIds } from "../../shared/http/request-id.ts";
import { createLogger } from "../../shared/logger.ts";
import { createMetrics, metricsRoute } from "../../shared/metrics.ts";
import { connectNats } from "../../shared/nats.ts";
import { onShutdown } from "../../shared/shutdown.ts";
import { loadSources } from "../../shared/sources/index.ts";
import { serverBodyCap } from "../../shared/sources/runtime.ts";
import { loadConnectionTls } from "../../shared/tls.ts";
import { startTracing } from "../../shared/tracing.ts";
import { createDashboardApp } from "./app.ts";
import { readDashboardConfig } from "./config.ts";
import { natsOnDemand } from "./nats-link.ts";
import { keepRegistryInStep, natsSourceRegistry } from "./sources.ts";

const config = readDashboardConfig();
const keys = loadKeys(config);
// Each HTTP request's id, on its response and its log lines (shared/http/request-id.ts).
const requestIds = createRequestIds();
const log = createLogger("dashboard", config.logLevel, undefined, { requestId: requestIds.current });
warnAboutKeyAge(log, keys);
const tracing = startTracing("dashboard");
const sources = loadSources(config.sourcesFile);
// NATS is judged when first needed (below), so an installation without NATS still serves patients.
const tls = await loadConnectionTls({ ...config, natsUrl: undefined }, log);
const sql = traceSql(createDb(config.databaseUrl, { name: "hookline-dashboard", max: 10, tls: tls.postgres }), tracing);
const redis = traceRedis(createRedis(config.redisUrl, "hookline-dashboard", log, tls.redis), tracing);
reportDatabaseAtStart(sql, log);

// NATS settings are read (and judged) when first needed: an installation that never gave the
// dashboard NATS keeps serving patients; dead letters then answer 503, and an erasure says it
// did not sweep the streams. ONE connection for everything here (dead letters, stats, erasure,
// the sources registry below).
const nats = natsOnDemand(async () => {
  const natsTls = await loadConnectionTls({ ...config, databaseUrl: undefined, redisUrl: undefined }, log);
  return connectNats(config.natsUrl, "hookline-dashboard", log, { tls: natsTls.nats });
});

// Runtime sources are published to the KV bucket the ingress and projector pods watch, over the
// same connection (opened when first needed); the bucket is kept in step with Postgres.
const sourceRegistry = natsSourceRegistry(() => nats.get());
const stopRegistrySync = keepRegistryInStep(sql, sourceRegistry, log);

let draining = false;
const metrics = createMetrics("dashboard");
const app = createDashboardApp({
  sql,
  keys,
  redis,
  sources,
  apiTokens: config.apiTokens,
  oidc: config.oidc,
  cacheTtlSeconds: config.cacheTtlSeconds,
  log,
  metrics,
  serveMetrics: config.metricsPort === 0,
  readiness: {
    postgres: () => databaseAnswers(sql),
    redis: async () => (await redis.ping()) === "PONG",
  },
  healthChecks: dashboardChecks({ sql, redis, keys }),
  isDraining: () => draining,
  tracer: tracing.enabled ? tracing.tracer : undefined,
  clients: {
    registry: sourceRegistry,
    webhookBaseUrl: config.publicWebhookBaseUrl,
    errorsLast24h: sourceRegistry.errorsLast24h,
  },
  nats,
});
app.use(requestIds.plugin());
// Elysia reads and parses a body before the bearer guard runs, so Bun's cap (128 MiB by default)
// is all that bounds what an unauthenticated caller makes this pod hold. The largest body a route
// takes is a source preview's sample webhook: the ingress's cap, a source's limit with headroom.
app.listen({
  hostname: config.serviceHost,
  port: config.port,
  maxRequestBodySize: serverBodyCap(sources.values(), true),
});
log.info({ url: `http://${config.serviceHost}:${config.port}` }, "dashboard listening");
// /metrics apart from what an HTTP Ingress publishes (METRICS_PORT; the chart sets it).
const metricsServer =
  config.metricsPort === 0
    ? null
    : new Elysia().use(metricsRoute(metrics)).listen({ hostname: config.serviceHost, port: config.metricsPort });
if (metricsServer)
  log.info({ url: `http://${config.serviceHost}:${config.metricsPort}/metrics` }, "dashboard metrics listening");

onShutdown(log, async () => {
  draining = true;
  await app.stop();
  await metricsServer?.stop();
  await sql.end({ timeout: 5 });
  redis.disconnect();
  stopRegistrySync();
  // The registry's connection is the link's: closed once, here.
  await nats.close();
  await tracing.shutdown();
});
