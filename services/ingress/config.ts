import { commonConfig, entry, env, readConfig, sourcesFileConfig } from "../../shared/config.ts";
import { streamConfigSpec } from "../../shared/stream-limits.ts";

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
};

export const readIngressConfig = (source: Record<string, string | undefined> = process.env) =>
  readConfig(ingressConfigSpec, source);
