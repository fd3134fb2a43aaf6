// Sender controls in process (issue #10 item 7): the body limit enforced while a chunked body
// is read, the global in-flight cap, and the shared rate limit's fallback to the pod's bucket.
import { describe, expect, test } from "bun:test";
import { Writable } from "node:stream";
import { JetStreamApiError } from "@nats-io/jetstream";
import { readIngressConfig } from "../../../services/ingress/config.ts";
import { createRateLimiter } from "../../../services/ingress/rate-limit.ts";
import { createSharedRateLimiter } from "../../../services/ingress/shared-rate-limit.ts";
import { createLogger } from "../../../shared/logger.ts";
import { createMetrics } from "../../../shared/metrics.ts";
import { answer, generic, ingress, signed, url } from "./fixture.ts";

/** A body streamed in `chunkBytes` pieces up to `totalBytes`, counting what the reader pulled. */
function streamedBody(totalBytes: number, chunkBytes = 16 * 1024) {
  const chunk = new Uint8Array(chunkBytes).fill(0x61);
  const pulled = { bytes: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled.bytes >= totalBytes) return controller.close();
      pulled.bytes += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { body, pulled };
}

describe("body limit while reading", () => {
  test("a chunked body (no Content-Length) over the limit gets 413 without being read whole", async () => {
    const { app, published } = ingress({ sources: [generic({ maxBodyBytes: 64 * 1024 })] });
    const { body, pulled } = streamedBody(20 << 20);
    const init = signed("{}");
    const res = await app.handle(new Request(url(), { ...init, body, duplex: "half" } as RequestInit));
    const a = await answer(res);
    expect([a.status, a.body.error?.code]).toEqual([413, "body_too_large"]);
    // Cut off at the limit: what was pulled is the limit plus the stream's read-ahead, not 20 MiB.
    expect(pulled.bytes).toBeLessThan(1 << 20);
    expect(published).toHaveLength(0);
  });

  test("a chunked body within the limit is read whole and verified over its bytes", async () => {
    const { app, published } = ingress();
    const text = JSON.stringify({ data: { Email: "chunked@example.com", note: "x".repeat(50_000) } });
    const init = signed(text);
    const bytes = new TextEncoder().encode(text);
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= bytes.byteLength) return controller.close();
        controller.enqueue(bytes.slice(at, at + 7_000));
        at += 7_000;
      },
    });
    const a = await answer(await app.handle(new Request(url(), { ...init, body, duplex: "half" } as RequestInit)));
    expect(a.status).toBe(200);
    expect(new TextDecoder().decode(published[0]!.body)).toBe(text);
  });
});

describe("in-flight cap", () => {
  test("past the cap: 503 overloaded with Retry-After at once; health is not shed; freed slots serve again", async () => {
    const held: (() => void)[] = [];
    let hold = true;
    const { app } = ingress({
      maxInFlight: 2,
      publish: (m) =>
        new Promise((resolve) => {
          const ack = () => resolve({ duplicate: false, seq: m.receivedAt });
          if (hold) held.push(ack);
          else ack();
        }),
    });
    const first = [1, 2].map((i) => app.handle(new Request(url(), signed(`{"n":${i}}`))));
    while (held.length < 2) await Bun.sleep(1);

    const shed = await answer(await app.handle(new Request(url(), signed('{"n":3}'))));
    expect([shed.status, shed.body.error?.code, shed.retryAfter]).toEqual([503, "overloaded", "1"]);
    expect((await app.handle(new Request("http://ingress/health/live"))).status).toBe(200);

    hold = false;
    for (const ack of held) ack();
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([200, 200]);
    expect((await app.handle(new Request(url(), signed('{"n":4}')))).status).toBe(200);
  });

  test("every answer frees its slot, refusals and errors included", async () => {
    const { app } = ingress({ maxInFlight: 1, queueUp: false });
    for (let i = 0; i < 5; i++) {
      const a = await answer(await app.handle(new Request(url(), signed(`{"n":${i}}`))));
      expect(a.body.error?.code).toBe("queue_unavailable");
    }
    for (let i = 0; i < 3; i++) expect((await app.handle(new Request(url("nope"), signed("{}")))).status).toBe(404);
    expect((await answer(await app.handle(new Request(url(), signed("{}"))))).body.error?.code).toBe(
      "queue_unavailable",
    );
  });
});

describe("outcome labels of refusals the status does not tell", () => {
  // A 503 is queue_unavailable by its status; these refusals count under their own code.
  const outcomes = async (metrics: { render(): Promise<string> }) =>
    [
      ...(await metrics.render()).matchAll(
        /^hookline_webhooks_received_total\{source="generic",outcome="(\w+)"\} (\d+)/gm,
      ),
    ]
      .map((m) => `${m[1]}=${m[2]}`)
      .sort();

  test("queue_full (JetStream refused: the stream is at its limits)", async () => {
    const full = new JetStreamApiError({ code: 503, err_code: 10077, description: "maximum messages exceeded" });
    const { app, metrics } = ingress({ publish: () => Promise.reject(full) });
    const a = await answer(await app.handle(new Request(url(), signed("{}"))));
    expect([a.status, a.body.error?.code]).toEqual([503, "queue_full"]);
    expect(await outcomes(metrics)).toEqual(["queue_full=1"]);
  });

  test("overloaded (past the in-flight cap)", async () => {
    const held: (() => void)[] = [];
    const { app, metrics } = ingress({
      maxInFlight: 1,
      publish: (m) => new Promise((resolve) => held.push(() => resolve({ duplicate: false, seq: m.receivedAt }))),
    });
    const first = app.handle(new Request(url(), signed('{"n":1}')));
    while (held.length < 1) await Bun.sleep(1);
    expect((await app.handle(new Request(url(), signed('{"n":2}')))).status).toBe(503);
    held[0]!();
    await first;
    expect(await outcomes(metrics)).toEqual(["accepted=1", "overloaded=1"]);
  });
});

describe("shared rate limit, falling back to the pod's bucket", () => {
  function setup(remote: (key: string, rate: number) => Promise<number>) {
    const lines: { level: number; msg: string }[] = [];
    const log = createLogger(
      "ingress",
      "info",
      new Writable({
        write(chunk, _enc, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    let clock = 0;
    const metrics = createMetrics("ingress");
    const limiter = createSharedRateLimiter({
      remote,
      fallback: createRateLimiter(),
      log,
      meter: metrics.meter,
      timeoutMs: 30,
      retryMs: 1000,
      now: () => clock,
    });
    const gauge = async () => /^hookline_ingress_rate_limit_shared (\d)/m.exec(await metrics.render())?.[1];
    return { limiter, lines, advance: (ms: number) => (clock += ms), gauge };
  }

  test("uses the shared answer while Redis answers", async () => {
    const calls: string[] = [];
    const { limiter, lines, gauge } = setup(async (key) => {
      calls.push(key);
      return calls.length > 3 ? 2 : 0;
    });
    const waits = [];
    for (let i = 0; i < 5; i++) waits.push(await limiter.take("s", 10));
    expect(waits).toEqual([0, 0, 0, 2, 2]);
    expect(await limiter.take("s", 0)).toBe(0); // unlimited: Redis is not asked
    expect(calls).toHaveLength(5);
    expect(lines).toHaveLength(0);
    expect(await gauge()).toBe("1");
  });

  test("Redis failing: the pod's bucket answers, one warning, Redis retried after the interval, one notice on return", async () => {
    let up = false;
    let calls = 0;
    const { limiter, lines, advance, gauge } = setup(async () => {
      calls++;
      if (!up) throw Object.assign(new Error("Connection is closed."), { code: "ECONNREFUSED" });
      return 0;
    });
    // Per pod: a rate of 2 allows 2 at once, then asks to wait.
    const waits = [];
    for (let i = 0; i < 4; i++) waits.push(await limiter.take("s", 2));
    expect(waits.slice(0, 2)).toEqual([0, 0]);
    expect(waits[2]).toBeGreaterThan(0);
    expect(calls).toBe(1); // not asked again before the retry interval
    expect(lines.map((l) => l.level)).toEqual([40]);
    expect(await gauge()).toBe("0");

    advance(1001);
    await limiter.take("s", 2);
    expect(calls).toBe(2); // retried, still down: one warning in all
    expect(lines).toHaveLength(1);

    up = true;
    advance(1001);
    expect(await limiter.take("s", 2)).toBe(0);
    expect(calls).toBe(3);
    expect(lines.map((l) => l.level)).toEqual([40, 30]);
    expect(await gauge()).toBe("1");
  });

  test("Redis not answering: falls back after the short timeout instead of waiting", async () => {
    const { limiter, lines } = setup(() => new Promise<number>(() => {}));
    const started = performance.now();
    expect(await limiter.take("s", 5)).toBe(0);
    // Generous bound: the timeout is 30 ms; a hung Redis must not hold the request for long.
    expect(performance.now() - started).toBeLessThan(2000);
    expect(lines).toHaveLength(1);
  });
});

describe("ingress configuration", () => {
  const base = { HOOKLINE_ENV: "development" };
  test("REDIS_URL is optional (unset or empty: per-pod limits) and checked when set", () => {
    expect(readIngressConfig(base).redisUrl).toBeUndefined();
    expect(readIngressConfig({ ...base, REDIS_URL: "" }).redisUrl).toBeUndefined();
    expect(readIngressConfig({ ...base, REDIS_URL: "redis://cache:6379/2" }).redisUrl).toBe("redis://cache:6379/2");
    expect(() => readIngressConfig({ ...base, REDIS_URL: "http://cache" })).toThrow(
      /REDIS_URL=<redacted>: must be a URL/,
    );
  });
  test("MAX_IN_FLIGHT defaults to 1024 and must be a whole number of at least 1", () => {
    expect(readIngressConfig(base).maxInFlight).toBe(1024);
    expect(readIngressConfig({ ...base, MAX_IN_FLIGHT: "64" }).maxInFlight).toBe(64);
    expect(() => readIngressConfig({ ...base, MAX_IN_FLIGHT: "0" })).toThrow(/MAX_IN_FLIGHT/);
  });
});
