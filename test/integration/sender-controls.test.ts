// Sender controls across real processes (issue #10 item 7): one rate-limit bucket per source
// shared by two ingress processes through Redis, each falling back to its own bucket while
// Redis is stopped or hangs; a chunked 100 MB upload cut off at the body limit with the
// ingress's memory flat; the in-flight cap shedding with 503 overloaded.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  devSourcesWith,
  type NatsServer,
  postWebhook,
  type RedisServer,
  type Service,
  signGeneric,
  startNats,
  startRedisServer,
  startService,
  waitFor,
} from "./harness.ts";

const RATE = 20;
const SOURCE = "shared-limited";
let nats: NatsServer;
let redis: RedisServer;
let a: Service;
let b: Service;

beforeAll(async () => {
  nats = await startNats();
  redis = await startRedisServer();
  const env = {
    NATS_URL: nats.url,
    REDIS_URL: redis.url,
    HOOKLINE_SOURCES: devSourcesWith([{ from: "generic", id: SOURCE, rateLimitPerSecond: RATE }]),
  };
  a = await startService("ingress", env);
  b = await startService("ingress", { ...env, HOOKLINE_PROVISION: "false" });
});

afterAll(async () => {
  await Promise.all([a, b].map((s) => s?.kill("SIGKILL")));
  redis?.resume();
  await redis?.stop();
  await nats?.dispose();
});

const rateLimitShared = async (s: Service) =>
  /^hookline_ingress_rate_limit_shared (\d)/m.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1];

/** `perIngress` signed webhooks to each ingress at once; what they answered and how long it took. */
async function burst(tag: string, perIngress: number) {
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: perIngress * 2 }, async (_, i) => {
      const res = await postWebhook(i % 2 ? a.url : b.url, SOURCE, signGeneric({ data: { i } }, `msg_${tag}_${i}`));
      const body = (await res.json()) as { error?: { code: string } };
      if (res.status === 429) {
        expect(body.error?.code).toBe("rate_limited");
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      }
      return { status: res.status };
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const accepted = answers.filter((x) => x.status === 200);
  return {
    statuses: new Set(answers.map((x) => x.status)),
    accepted: accepted.length,
    seconds,
  };
}

describe("rate limit shared through Redis", () => {
  test("two ingress processes share one bucket per source: about N accepted in total, not 2N", async () => {
    const r = await burst("shared", 2 * RATE);
    expect([...r.statuses].sort()).toEqual([200, 429]);
    // Both pods take from the bucket in Redis (which of them wins the RATE tokens is up to
    // the race: all may go to one), so together they accept RATE, not 2 × RATE.
    expect(await rateLimitShared(a)).toBe("1");
    expect(await rateLimitShared(b)).toBe("1");
    // The bucket holds RATE and refills at RATE/s: at most that over the burst (one for rounding).
    expect(r.accepted).toBeGreaterThanOrEqual(RATE);
    expect(r.accepted).toBeLessThanOrEqual(RATE + Math.ceil(RATE * r.seconds) + 1);
    expect(r.accepted).toBeLessThan(2 * RATE);
  });

  test("Redis stopped: each ingress falls back to its own bucket and still answers, never 5xx", async () => {
    await redis.stop();
    await Bun.sleep(1100); // the pods' buckets are full again
    const r = await burst("redis_down", 2 * RATE);
    expect([...r.statuses].sort()).toEqual([200, 429]);
    // Each pod's own bucket holds RATE: both fill theirs.
    expect(r.accepted).toBeGreaterThanOrEqual(2 * RATE);
    expect(await rateLimitShared(a)).toBe("0");
    expect(await rateLimitShared(b)).toBe("0");
  });

  test("Redis back: the bucket is shared again", async () => {
    await redis.start();
    // Each pod retries Redis on a rate-limited request once its retry interval passed.
    for (const s of [a, b])
      await waitFor("the shared bucket again", async () => {
        await postWebhook(s.url, SOURCE, signGeneric({ data: {} }, `msg_probe_${Math.random()}`));
        return (await rateLimitShared(s)) === "1";
      });
    await Bun.sleep(1100);
    const r = await burst("redis_back", 2 * RATE);
    expect(r.accepted).toBeLessThanOrEqual(RATE + Math.ceil(RATE * r.seconds) + 1);
  });

  test("Redis hanging (stopped process, connections open): answered after a short timeout, never 5xx", async () => {
    await Bun.sleep(1100);
    redis.pause();
    try {
      const r = await burst("redis_hung", 2 * RATE);
      expect([...r.statuses].sort()).toEqual([200, 429]);
      expect(r.accepted).toBeGreaterThanOrEqual(2 * RATE);
      // Generous bound: the Redis timeout is 100 ms; a hung Redis must not hold webhooks for seconds.
      expect(r.seconds).toBeLessThan(10);
      expect((await fetch(`${a.url}/health/ready`)).status).toBe(200);
    } finally {
      redis.resume();
    }
  });
});

/** VmRSS of a process, in MiB. */
const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

describe("body limit while reading", () => {
  test("a chunked 100 MB upload is refused at the limit (413 JSON) and the ingress's memory stays flat", async () => {
    const TOTAL = 100 * 1024 * 1024;
    const chunk = new Uint8Array(64 * 1024).fill(0x20); // JSON whitespace, reused: the test holds 64 KiB
    // Warm up (first requests allocate), then measure.
    expect((await postWebhook(a.url, "generic", signGeneric({ data: {} }, "msg_warm"))).status).toBe(200);
    const before = rssMiB(a.proc.pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMiB(a.proc.pid));
    }, 20);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= TOTAL) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const signed = signGeneric({ data: {} }, "msg_huge");
    try {
      const res = await fetch(`${a.url}/v1/webhooks/generic`, {
        method: "POST",
        headers: signed.headers,
        body,
        duplex: "half",
      } as RequestInit);
      expect(res.headers.get("content-length")).not.toBe("0");
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("body_too_large");
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, rssMiB(a.proc.pid));
    expect(sent).toBeLessThan(TOTAL); // answered while the upload was still going
    expect(peak - before).toBeLessThan(50);
    expect((await fetch(`${a.url}/health/ready`)).status).toBe(200);
  });
});

describe("in-flight cap", () => {
  test("past MAX_IN_FLIGHT: 503 overloaded with Retry-After at once; the held requests complete", async () => {
    // REDIS_URL empty: the per-pod rate limit, as without Redis.
    const capped = await startService("ingress", {
      NATS_URL: nats.url,
      REDIS_URL: "",
      HOOKLINE_PROVISION: "false",
      MAX_IN_FLIGHT: "2",
    });
    try {
      // Two webhooks whose bodies arrive slowly hold both slots.
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const slow = [1, 2].map((i) => {
        const req = signGeneric({ data: { Email: `slow${i}@example.com` } }, `msg_slow_${i}`);
        const bytes = new TextEncoder().encode(req.body);
        let step = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (step === 0) controller.enqueue(bytes.slice(0, 5));
            else if (step === 1) {
              await released;
              controller.enqueue(bytes.slice(5));
            } else controller.close();
            step++;
          },
        });
        return fetch(`${capped.url}/v1/webhooks/generic`, {
          method: "POST",
          headers: req.headers,
          body,
          duplex: "half",
        } as RequestInit);
      });
      // Killed on a failure below: no unhandled rejection from these then.
      for (const p of slow) p.catch(() => {});
      await waitFor("both slow webhooks in flight", async () =>
        /^hookline_ingress_in_flight 2$/m.test(await (await fetch(`${capped.url}/metrics`)).text()),
      );
      const shed = await postWebhook(capped.url, "generic", signGeneric({ data: {} }, "msg_over_cap"));
      expect(shed.status).toBe(503);
      expect(shed.headers.get("retry-after")).toBe("1");
      expect(((await shed.json()) as { error: { code: string } }).error.code).toBe("overloaded");
      release();
      expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
      expect((await postWebhook(capped.url, "generic", signGeneric({ data: {} }, "msg_after_cap"))).status).toBe(200);
    } finally {
      await capped.kill("SIGKILL");
    }
  });
});
