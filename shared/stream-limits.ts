// The streams' limits: which come from the environment, which are fixed because the
// no-loss promise depends on them, and how a restart reconciles them with a stream that
// exists (pure: planStreamUpdate is what ensureStream applies).
//
// Ownership of a limit: a value hookline wrote as a default is recorded in the stream's
// metadata ("hookline.default.<field>" = value). On a later start, a limit that is not
// configured is brought to the current default only while the stream still holds the value
// hookline recorded; once an operator changed it (nats stream edit, the JetStream API) the
// stream's value no longer matches the record and is kept. A configured variable always wins.

import type { StreamConfig } from "@nats-io/jetstream";
import * as v from "valibot";
import { entry, env } from "./config.ts";

/** A whole number, or "" (unset): undefined, so the stream's own value stays. */
const optionalInt = (min: number, max: number) =>
  v.union(
    [
      v.pipe(
        v.literal(""),
        v.transform(() => undefined),
      ),
      env.int(min, max),
    ],
    `must be a whole number from ${min} to ${max}, or unset`,
  );

/** Spread into each provisioning service's config spec (ingress, projector, ops/provision.ts). */
export const streamConfigSpec = {
  streamMaxBytes: entry("STREAM_MAX_BYTES", optionalInt(1024, Number.MAX_SAFE_INTEGER), ""),
  streamMaxMsgs: entry("STREAM_MAX_MSGS", optionalInt(1, Number.MAX_SAFE_INTEGER), ""),
  streamReplicas: entry("STREAM_REPLICAS", optionalInt(1, 5), ""),
  // 0 keeps dead letters until replayed or purged; at most ten years.
  dlqMaxAgeDays: entry("DLQ_MAX_AGE_DAYS", optionalInt(0, 3650), ""),
  dlqMaxBytes: entry("DLQ_MAX_BYTES", optionalInt(1024, Number.MAX_SAFE_INTEGER), ""),
};

/** How long JetStream waits for the projector's acknowledgement before it redelivers a message. */
export const DEFAULT_ACK_WAIT_SECONDS = 30;

/**
 * The projector consumer's settings, applied by whoever provisions it (the projector, or
 * `hookline provision` when the projector does not): one entry, so both apply the same value.
 */
export const consumerConfigSpec = {
  ackWaitSeconds: entry("ACK_WAIT_SECONDS", env.int(1, 3600), String(DEFAULT_ACK_WAIT_SECONDS)),
};

/** What the environment set; each undefined value means "not configured". */
export interface StreamSettings {
  streamMaxBytes?: number;
  streamMaxMsgs?: number;
  streamReplicas?: number;
  dlqMaxAgeDays?: number;
  dlqMaxBytes?: number;
}

const GiB = 1024 ** 3;
export const NS_PER_DAY = 86_400 * 1e9;

/**
 * Defaults for what is not configured. WEBHOOKS: 1 GiB holds about a million typical
 * webhooks, days of backlog for a clinic's forms; messages count only while unprojected.
 * DLQ: 30 days give operators time to notice a dead letter (alert on
 * hookline_stream_messages{stream="WEBHOOKS_DLQ"}), fix the cause and replay, without keeping
 * patient data that was never projected for longer than that.
 */
export const STREAM_DEFAULTS = {
  maxBytes: GiB,
  maxMsgs: -1,
  replicas: 1,
  duplicateWindowSeconds: 600,
  dlqMaxAgeDays: 30,
  dlqMaxBytes: GiB,
} as const;

type LimitField = "max_bytes" | "max_msgs" | "max_age" | "num_replicas" | "duplicate_window";

interface Limit {
  /** From the environment; undefined when not set. */
  configured?: number;
  default: number;
  /**
   * The value versions before ownership records wrote on every start. A stream without
   * records that still holds it gets the default (e.g. the DLQ that earlier had no limit).
   */
  legacy?: number;
}

export interface StreamPlan {
  name: string;
  subjects: string[];
  retention: StreamConfig["retention"];
  storage: StreamConfig["storage"];
  /** Applied on every start whatever the stream holds: the guarantees depend on them. */
  enforced: Partial<StreamConfig>;
  limits: Partial<Record<LimitField, Limit>>;
}

const MANAGED = "hookline.managed";
const recordKey = (field: LimitField) => `hookline.default.${field}`;

/** The full config for a stream that does not exist yet. */
export function createConfig(plan: StreamPlan): Partial<StreamConfig> & { name: string } {
  const config: Partial<StreamConfig> & { name: string } = {
    name: plan.name,
    subjects: plan.subjects,
    retention: plan.retention,
    storage: plan.storage,
    ...plan.enforced,
  };
  const metadata: Record<string, string> = { [MANAGED]: "true" };
  for (const [field, limit] of Object.entries(plan.limits) as [LimitField, Limit][]) {
    config[field] = limit.configured ?? limit.default;
    if (limit.configured === undefined) metadata[recordKey(field)] = String(limit.default);
  }
  config.metadata = metadata;
  return config;
}

export class StreamProvisionError extends Error {
  constructor(
    readonly code: "stream_migration_required" | "stream_incompatible",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "StreamProvisionError";
  }
}

export interface StreamUpdate {
  /** Fields to change (empty: nothing to do). */
  changes: Partial<StreamConfig>;
  /** One line per changed field, for the log. */
  notes: string[];
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** What to change on an existing stream; throws when it cannot be made right in place. */
export function planStreamUpdate(plan: StreamPlan, current: StreamConfig): StreamUpdate {
  if (current.retention !== plan.retention) {
    const migrate =
      plan.retention === "workqueue"
        ? ` Run "./ops/hookline stream migrate" (it seals ${plan.name}, waits until the projector has ` +
          "acknowledged every message, then recreates it) and start again."
        : "";
    const mismatch = `stream ${plan.name} has retention "${current.retention}", hookline needs "${plan.retention}"`;
    throw new StreamProvisionError(
      plan.retention === "workqueue" ? "stream_migration_required" : "stream_incompatible",
      `${mismatch}; JetStream cannot change retention to or from workqueue in place.${migrate}`,
    );
  }
  if (current.storage !== plan.storage) {
    throw new StreamProvisionError(
      "stream_incompatible",
      `stream ${plan.name} has storage "${current.storage}", hookline needs "${plan.storage}"`,
    );
  }
  const changes: Partial<StreamConfig> = {};
  const notes: string[] = [];
  const set = (field: keyof StreamConfig, value: unknown, why: string) => {
    (changes as Record<string, unknown>)[field] = value;
    notes.push(`${field}: ${JSON.stringify(current[field])} -> ${JSON.stringify(value)} (${why})`);
  };

  if (JSON.stringify([...current.subjects].sort()) !== JSON.stringify([...plan.subjects].sort()))
    set("subjects", plan.subjects, "hookline's subjects");
  for (const [field, value] of Object.entries(plan.enforced) as [keyof StreamConfig, unknown][]) {
    if (current[field] !== value) set(field, value, "required so that no unprojected message is dropped");
  }

  const metadata: Record<string, string> = { ...(current.metadata ?? {}) };
  const legacy = !(MANAGED in metadata);
  metadata[MANAGED] = "true";
  for (const [field, limit] of Object.entries(plan.limits) as [LimitField, Limit][]) {
    const now = current[field] as number;
    const key = recordKey(field);
    const ours = metadata[key] === String(now) || (legacy && limit.legacy !== undefined && now === limit.legacy);
    if (limit.configured !== undefined) {
      delete metadata[key];
      if (now !== limit.configured) set(field, limit.configured, "configured");
    } else if (ours) {
      metadata[key] = String(limit.default);
      if (now !== limit.default)
        set(field, limit.default, "hookline's default; the stream still held hookline's earlier default");
    } else {
      // An operator's value: kept, and no longer recorded as ours.
      delete metadata[key];
    }
  }
  if (!sameRecord(metadata, current.metadata ?? {})) changes.metadata = metadata;
  return { changes, notes };
}
