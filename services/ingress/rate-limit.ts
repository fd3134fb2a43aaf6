// Token bucket per key (source), refilled continuously, in this process. It is the whole
// rate limit without Redis, and the fallback of the cluster-wide one (shared-rate-limit.ts)
// while Redis does not answer: then each pod allows the source's rate on its own.

/** What the webhook handler asks of a rate limit: 0 = allowed, else the seconds to wait. */
export interface SourceRateLimiter {
  take(key: string, ratePerSecond: number): number | Promise<number>;
}

export interface RateLimiter extends SourceRateLimiter {
  take(key: string, ratePerSecond: number, now?: number): number;
}

/** A bucket holds this many seconds of the rate (at least one request): the burst a sender may send at once. */
const BURST_SECONDS = 1;
export const bucketCapacity = (ratePerSecond: number) => Math.max(1, ratePerSecond * BURST_SECONDS);

/** Retry-After for a wait in seconds: whole seconds, at least 1 (HTTP has no fractions). */
export const retryAfterSeconds = (seconds: number) => Math.max(1, Math.ceil(seconds));

export function createRateLimiter(): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key, rate, now = performance.now()) {
      if (rate <= 0) return 0;
      const capacity = bucketCapacity(rate);
      const bucket = buckets.get(key) ?? { tokens: capacity, at: now };
      bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * rate);
      bucket.at = now;
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return retryAfterSeconds((1 - bucket.tokens) / rate);
    },
  };
}
