// Reconciling the streams' settings on start (pure): what is enforced, what is configured,
// what is an operator's and stays, what earlier versions left behind.
import { describe, expect, test } from "bun:test";
import type { StreamConfig } from "@nats-io/jetstream";
import { ConfigError, readConfig } from "../../shared/config.ts";
import { deadLetterStreamPlan, webhookStreamPlan } from "../../shared/nats.ts";
import {
  createConfig,
  NS_PER_DAY,
  planStreamUpdate,
  StreamProvisionError,
  streamConfigSpec,
} from "../../shared/stream-limits.ts";

const GiB = 1024 ** 3;
/** The stream as the server reports it after creating it from `config`. */
const asCreated = (config: Partial<StreamConfig>) =>
  ({
    max_msgs: -1,
    max_bytes: -1,
    max_age: 0,
    num_replicas: 1,
    ...config,
    metadata: { "_nats.ver": "2.12.3", ...config.metadata },
  }) as StreamConfig;

describe("stream limits", () => {
  test("a new WEBHOOKS: work queue, discard new, no max_age; defaults recorded as hookline's", () => {
    const c = createConfig(webhookStreamPlan({ streamMaxMsgs: 1000 }));
    expect(c).toMatchObject({
      retention: "workqueue",
      discard: "new",
      max_age: 0,
      max_bytes: GiB,
      max_msgs: 1000,
      num_replicas: 1,
    });
    expect(c.metadata).toEqual({
      "hookline.managed": "true",
      "hookline.default.max_bytes": String(GiB),
      "hookline.default.num_replicas": "1",
      "hookline.default.duplicate_window": String(600e9),
    });
  });

  test("an unchanged stream needs no update (pods starting together send none)", () => {
    const plan = webhookStreamPlan({ streamMaxBytes: 5000 });
    expect(planStreamUpdate(plan, asCreated(createConfig(plan))).changes).toEqual({});
  });

  test("an operator's value is kept and no longer recorded as hookline's; a configured one wins", () => {
    const current = asCreated(createConfig(webhookStreamPlan()));
    current.max_bytes = 2 * GiB;
    const kept = planStreamUpdate(webhookStreamPlan(), current);
    expect(kept.changes.max_bytes).toBeUndefined();
    expect(kept.changes.metadata?.["hookline.default.max_bytes"]).toBeUndefined();
    const configured = planStreamUpdate(webhookStreamPlan({ streamMaxBytes: 3 * GiB }), current);
    expect(configured.changes.max_bytes).toBe(3 * GiB);
  });

  test("settings that would drop unprojected messages are enforced", () => {
    const current = asCreated({
      ...createConfig(webhookStreamPlan()),
      discard: "old" as StreamConfig["discard"],
      max_age: 3600e9,
    });
    const { changes, notes } = planStreamUpdate(webhookStreamPlan(), current);
    expect(changes).toMatchObject({ discard: "new", max_age: 0 });
    expect(notes.length).toBe(2);
  });

  test("an earlier version's WEBHOOKS (limits retention) needs the migration; nothing is planned", () => {
    const legacy = asCreated({
      name: "WEBHOOKS",
      subjects: ["webhooks.>"],
      retention: "limits" as StreamConfig["retention"],
      storage: "file" as StreamConfig["storage"],
      discard: "old" as StreamConfig["discard"],
      metadata: {},
    });
    expect(() => planStreamUpdate(webhookStreamPlan(), legacy)).toThrow(StreamProvisionError);
    try {
      planStreamUpdate(webhookStreamPlan(), legacy);
    } catch (error) {
      expect((error as StreamProvisionError).code).toBe("stream_migration_required");
      expect((error as Error).message).toContain("./ops/hookline stream migrate");
    }
  });

  test("an earlier version's unlimited DLQ gets the retention; its operator-set limit stays", () => {
    const legacy = asCreated({
      name: "WEBHOOKS_DLQ",
      subjects: ["dlq.>"],
      retention: "limits" as StreamConfig["retention"],
      storage: "file" as StreamConfig["storage"],
      discard: "new" as StreamConfig["discard"],
      metadata: {},
    });
    expect(planStreamUpdate(deadLetterStreamPlan(), legacy).changes).toMatchObject({
      max_age: 30 * NS_PER_DAY,
      max_bytes: GiB,
    });
    const tuned = { ...legacy, max_bytes: 5 * GiB };
    const { changes } = planStreamUpdate(deadLetterStreamPlan(), tuned);
    expect(changes.max_age).toBe(30 * NS_PER_DAY);
    expect(changes.max_bytes).toBeUndefined();
    // DLQ_MAX_AGE_DAYS=0: kept forever, and stays so once the variable is gone.
    const forever = asCreated(createConfig(deadLetterStreamPlan({ dlqMaxAgeDays: 0 })));
    expect(forever.max_age).toBe(0);
    expect(planStreamUpdate(deadLetterStreamPlan(), forever).changes.max_age).toBeUndefined();
  });

  test("limits from the environment: unset is undefined, bad values are named", () => {
    expect(readConfig(streamConfigSpec, {})).toEqual({
      streamMaxBytes: undefined,
      streamMaxMsgs: undefined,
      streamReplicas: undefined,
      dlqMaxAgeDays: undefined,
      dlqMaxBytes: undefined,
    });
    expect(readConfig(streamConfigSpec, { STREAM_MAX_BYTES: "20000", DLQ_MAX_AGE_DAYS: "0" })).toMatchObject({
      streamMaxBytes: 20000,
      dlqMaxAgeDays: 0,
    });
    expect(() => readConfig(streamConfigSpec, { STREAM_MAX_BYTES: "1GiB", STREAM_REPLICAS: "9" })).toThrow(ConfigError);
    try {
      readConfig(streamConfigSpec, { STREAM_MAX_BYTES: "1GiB", STREAM_REPLICAS: "9" });
    } catch (error) {
      expect((error as ConfigError).problems.join("\n")).toMatch(/STREAM_MAX_BYTES[\s\S]*STREAM_REPLICAS/);
    }
  });
});
