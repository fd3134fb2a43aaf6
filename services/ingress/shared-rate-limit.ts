// The per-source rate limit for the whole cluster: one bucket per source in Redis, shared by
// every ingress pod, so a source limited to N/s gets about N/s in total however many pods
// the autoscaler runs. Redis is an accelerator here, never a dependency of ingest: when it
// fails or is slow to answer, each pod falls back to its own bucket (rate-limit.ts) and asks
// Redis again after a pause, so a Redis outage neither blocks nor fails a webhook.
import type { Meter } from "@opentelemetry/api";
import type { Redis } from "../../shared/cache.ts";
import { errorSummary, type Logger } from "../../shared/logger.ts";
import { gaugeOf, METRICS } from "../../shared/metrics.ts";
import { bucketCapacity, type RateLimiter, retryAfterSeconds, type SourceRateLimiter } from "./rate-limit.ts";

/** The one Redis key of a source's bucket (a hash tag, for Redis Cluster). */
const bucketKey = (source: string) => `hookline:ratelimit:{${source}}`;

/**
 * GCRA, the token bucket as one number: the key holds the "theoretical arrival time" (µs,
 * Redis's clock, so the pods' clocks do not matter) at which the bucket would be full again.
 * A request is allowed when that time is at most `tolerance` ahead of now, and moves it one
 * `interval` on. Answers 0 (allowed) or the milliseconds to wait. The key expires when the
 * bucket is full again: an idle source leaves nothing in Redis.
 * Numbers are written with %.0f: Lua's tostring keeps 14 digits, a µs timestamp has 16.
 */
const GCRA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return math.ceil(wait / 1000) end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000))
return 0`;

type WithRateCommand = Redis & {
  hooklineRateTake(key: string, intervalMicros: number, toleranceMicros: number): Promise<number>;
};

/** Asks Redis for one request of a source; resolves to 0 or the seconds to wait (as the local bucket does). */
export type RemoteTake = (key: string, ratePerSecond: number) => Promise<number>;

/** The GCRA script bound to `redis` (EVALSHA through ioredis' defineCommand; reloaded if Redis lost it). */
export function redisRateTake(redis: Redis): RemoteTake {
  redis.defineCommand("hooklineRateTake", { numberOfKeys: 1, lua: GCRA });
  const r = redis as WithRateCommand;
  return async (key, rate) => {
    const interval = 1_000_000 / rate;
    // Same burst as the local bucket: `capacity` at once, then one per interval.
    const waitMs = await r.hooklineRateTake(bucketKey(key), interval, (bucketCapacity(rate) - 1) * interval);
    return waitMs > 0 ? retryAfterSeconds(waitMs / 1000) : 0;
  };
}

export interface SharedRateLimiterDeps {
  remote: RemoteTake;
  /** This pod's bucket, used while Redis does not answer. */
  fallback: RateLimiter;
  log: Logger;
  meter: Meter;
  /**
   * How long a webhook waits for Redis before the pod's bucket answers instead. Redis answers
   * in well under a millisecond; this only bounds what a hung Redis adds to a webhook.
   */
  timeoutMs?: number;
  /** After a failure, how long the pod's bucket answers before Redis is asked again. */
  retryMs?: number;
  now?: () => number;
}

class RedisTimeout extends Error {
  readonly code = "redis_timeout";
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisTimeout(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createSharedRateLimiter(deps: SharedRateLimiterDeps): SourceRateLimiter {
  const { remote, fallback, log, timeoutMs = 100, retryMs = 1000, now = () => performance.now() } = deps;
  let shared = true;
  let retryAt = 0;
  // While falling back, one request at a time asks Redis whether it is back.
  let probing = false;
  gaugeOf(deps.meter, METRICS.rateLimitShared).addCallback((result) => result.observe(shared ? 1 : 0));

  // Logged once per change of state, not per webhook: an outage would otherwise flood the log.
  function fellBack(error: unknown): void {
    retryAt = now() + retryMs;
    if (!shared) return;
    shared = false;
    log.warn(
      { err: errorSummary(error) },
      "Redis did not answer: per-source rate limits apply per pod until it does (a source may get its rate on every pod)",
    );
  }
  function recovered(): void {
    if (shared) return;
    shared = true;
    log.info("Redis answers again: per-source rate limits are shared by all ingress pods");
  }

  return {
    take(key, rate) {
      if (rate <= 0) return 0;
      if (!shared && (probing || now() < retryAt)) return fallback.take(key, rate);
      probing = !shared;
      return withTimeout(remote(key, rate), timeoutMs).then(
        (wait) => {
          probing = false;
          recovered();
          return wait;
        },
        (error) => {
          probing = false;
          fellBack(error);
          return fallback.take(key, rate);
        },
      );
    },
  };
}
