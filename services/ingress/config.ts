import * as v from "valibot";
import {
  commonConfig,
  entry,
  env,
  keyringConfig,
  readConfig,
  redisTlsConfig,
  sourcesFileConfig,
} from "../../shared/config.ts";
import { healthTokensConfig } from "../../shared/http/health-auth.ts";
import { streamConfigSpec } from "../../shared/stream-limits.ts";

/** Empty (the default) → undefined; otherwise a redis:// or rediss:// URL. */
const optionalRedisUrl = v.pipe(
  v.union([v.literal(""), env.redisUrl]),
  v.transform((s) => s || undefined),
);

export const ingressConfigSpec = {
  ...commonConfig,
  // Applied when this service provisions the streams (HOOKLINE_PROVISION).
  ...streamConfigSpec,
  port: entry("PORT", env.port, "8080"),
  sourcesFile: sourcesFileConfig,
  publishTimeoutMs: entry("PUBLISH_TIMEOUT_MS", env.int(100, 10_000), "1500"),
  provision: entry("HOOKLINE_PROVISION", env.bool, "true"),
  /** Comma-separated addresses/CIDRs of load balancers whose X-Forwarded-For is trusted. */
  trustedProxies: entry("TRUSTED_PROXIES", env.csv, ""),
  /**
   * Optional: set, the per-source rate limits are one bucket per source shared by every ingress
   * pod (falling back to per pod while Redis does not answer); unset, they are per pod.
   */
  redisUrl: entry("REDIS_URL", optionalRedisUrl, "", true),
  ...redisTlsConfig,
  /**
   * Webhooks handled at once by this process; more are shed with 503 overloaded. The bench's
   * throughput stops growing by 256 in flight (README Performance): past that, requests only
   * wait. 1024 leaves room for bursts and slow senders whose bodies are still arriving, at
   * about 40 ms of queueing at the measured ~25k req/s.
   */
  maxInFlight: entry("MAX_IN_FLIGHT", env.int(1, 1_000_000), "1024"),
  /**
   * HOOKLINE_KEYS (the data keyring) opens the secrets of sources created at runtime
   * (shared/sources/runtime.ts); unset, this pod serves the sources file's sources only. The
   * blind-index keys are read by the services that hold patient data, not here.
   */
  dataKeys: keyringConfig.dataKeys,
  dataKeysFile: keyringConfig.dataKeysFile,
  /** The admin tokens /health/detailed accepts (optional here: unset, it refuses everyone). */
  healthTokens: healthTokensConfig,
};

export const readIngressConfig = (source: Record<string, string | undefined> = process.env) =>
  readConfig(ingressConfigSpec, source);
