// Token bucket per key (source), refilled continuously. Per pod: the limit protects
// this pod's publish path; the chart multiplies by replicas for the cluster-wide figure.
export interface RateLimiter {
  /** Returns 0 when allowed, else the seconds to wait before retrying. */
  take(key: string, ratePerSecond: number, now?: number): number;
}

export function createRateLimiter(burstSeconds = 1): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key, rate, now = performance.now()) {
      if (rate <= 0) return 0;
      const capacity = Math.max(1, rate * burstSeconds);
      const bucket = buckets.get(key) ?? { tokens: capacity, at: now };
      bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * rate);
      bucket.at = now;
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
    },
  };
}
