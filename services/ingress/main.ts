// Composition root of the ingress: config → clients → app → serve; drains on SIGTERM.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createRedis } from "../../shared/cache.ts";
import { traceRedis } from "../../shared/client-spans.ts";
import { ingressChecks } from "../../shared/health/service-checks.ts";
import { envTokensHealthAuthorizer } from "../../shared/http/health-auth.ts";
import { detailedHealthRoute } from "../../shared/http/health-detailed.ts";
import { createRequestIds } from "../../shared/http/request-id.ts";
import { createLogger } from "../../shared/logger.ts";
import { createMetrics } from "../../shared/metrics.ts";
import {
  connectNats,
  DLQ_STREAM,
  natsConnected,
  PROJECTOR_CONSUMER,
  provisionJetStream,
  STREAM,
  streamExists,
} from "../../shared/nats.ts";
import { onShutdown } from "../../shared/shutdown.ts";
import { loadSources } from "../../shared/sources/index.ts";
import { runtimeSourcesKeyring, serverBodyCap, watchRuntimeSources } from "../../shared/sources/runtime.ts";
import { watchStreamFill } from "../../shared/stream-fill.ts";
import { loadConnectionTls } from "../../shared/tls.ts";
import { startTracing } from "../../shared/tracing.ts";
import { createIngressApp } from "./app.ts";
import { readIngressConfig } from "./config.ts";
import { createPublisher, createQuarantiner } from "./publish.ts";
import { createRateLimiter } from "./rate-limit.ts";
import { createSharedRateLimiter, redisRateTake } from "./shared-rate-limit.ts";
import { createWebhookHandler } from "./webhook.ts";

const config = readIngressConfig();
// Each HTTP request's id, on its response and its log lines (shared/http/request-id.ts).
const requestIds = createRequestIds();
const log = createLogger("ingress", config.logLevel, undefined, { requestId: requestIds.current });
const tracing = startTracing("ingress");
const sources = loadSources(config.sourcesFile);
// Async stack traces cost an Error per publish (4% of CPU under load); not worth it here.
const tls = await loadConnectionTls(config, log);
const nc = await connectNats(config.natsUrl, "hookline-ingress", log, { noAsyncTraces: true, tls: tls.nats });
if (config.provision) await provisionJetStream(nc, config, null, log);
const js = jetstream(nc, { timeout: config.publishTimeoutMs });
const jsm = await jetstreamManager(nc);
// Sources created at runtime join `sources` within moments, on every pod (shared/sources/runtime.ts).
const fileSources = new Set(sources.keys());
const keyring = runtimeSourcesKeyring(config);
// Without keys the bucket is still watched: its sources are answered 503 here, never 404.
const runtimeSources = watchRuntimeSources({ nc, keyring, sources, fileSources, log });
if (!keyring) log.warn("HOOKLINE_KEYS is not set: sources created at runtime are answered 503 by this pod");
await runtimeSources.ready;

const metrics = createMetrics("ingress");
// How full WEBHOOKS and the DLQ are (hookline_stream_*): the ingress is what refuses when full.
// The projector's lag too (hookline_consumer_*), so that it is reported while no projector runs.
const streamFill = watchStreamFill({
  jsm,
  meter: metrics.meter,
  log,
  streams: [STREAM, DLQ_STREAM],
  consumers: [{ stream: STREAM, consumer: PROJECTOR_CONSUMER }],
});
// With REDIS_URL, one bucket per source for all pods (this pod's own while Redis does not
// answer); without it, per pod. Redis is never a readiness condition: ingest goes on without it.
const redis = config.redisUrl
  ? traceRedis(createRedis(config.redisUrl, "hookline-ingress", log, tls.redis), tracing)
  : undefined;
// A moment for the first connection, so the first webhooks already share the bucket; without
// Redis the pod starts anyway (its own buckets) and asks Redis again later.
if (redis && redis.status !== "ready")
  await Promise.race([new Promise((resolve) => redis.once("ready", resolve)), Bun.sleep(2000)]);
const rateLimiter = redis
  ? createSharedRateLimiter({ remote: redisRateTake(redis), fallback: createRateLimiter(), log, meter: metrics.meter })
  : createRateLimiter();
const handleWebhook = createWebhookHandler({
  sources,
  publish: createPublisher(js, config.publishTimeoutMs),
  quarantine: createQuarantiner(js, config.publishTimeoutMs),
  queueAvailable: () => natsConnected(nc),
  log,
  metrics,
  tracer: tracing.enabled ? tracing.tracer : undefined,
  trustedProxies: config.trustedProxies,
  rateLimiter,
  maxInFlight: config.maxInFlight,
  sourceUnavailable: runtimeSources.unavailable,
});

let draining = false;
const app = createIngressApp({
  handleWebhook,
  sources,
  metrics,
  log,
  readiness: {
    nats: () => natsConnected(nc),
    stream: () => streamExists(jsm, STREAM),
    // Until the bucket's sources are known, one of them would be answered 404.
    runtimeSources: () => runtimeSources.loaded(),
  },
  isDraining: () => draining,
});
app.use(requestIds.plugin());
// Every dependency's state for operators, behind an admin token (shared/http/health-auth.ts).
app.use(
  detailedHealthRoute({
    service: "ingress",
    checks: ingressChecks({ nc, jsm, redis }),
    authorize: envTokensHealthAuthorizer(config.healthTokens, log),
  }),
);

// Bun's own cap sits well above every source's limit so that the ingress, not Bun,
// answers an oversize body, declared or chunked (with the JSON error); Bun's cap only stops abuse.
app.listen({
  hostname: config.serviceHost,
  port: config.port,
  maxRequestBodySize: serverBodyCap(sources.values(), Boolean(keyring)),
});
log.info(
  {
    url: `http://${config.serviceHost}:${config.port}`,
    sources: [...sources.keys()],
    runtimeSources: Boolean(keyring),
    tracing: tracing.enabled,
    rateLimits: redis ? "shared through Redis" : "per pod",
    maxInFlight: config.maxInFlight,
  },
  "ingress listening",
);

onShutdown(log, async () => {
  // Stop taking requests, let in-flight publishes get their PubAck, then close NATS.
  draining = true;
  streamFill.stop();
  runtimeSources.stop();
  await app.stop();
  await nc.drain();
  redis?.disconnect();
  await tracing.shutdown();
});
