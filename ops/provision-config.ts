// What `hookline provision` (ops/provision.ts) reads from the environment; the chart's tests
// check the provision Job's env against it.
import { commonConfig, databaseTlsConfig, databaseUrlConfig } from "../shared/config.ts";
import { consumerConfigSpec, streamConfigSpec } from "../shared/stream-limits.ts";

export const provisionConfigSpec = {
  ...commonConfig,
  ...streamConfigSpec,
  // The projector consumer's ack wait: the projector applies it only when it provisions itself.
  ...consumerConfigSpec,
  databaseUrl: databaseUrlConfig,
  ...databaseTlsConfig,
};
