// The ingress's HTTP answers, in process (fixture.ts: the real app and webhook handler, with
// a publisher that answers as JetStream would).
import { describe, expect, test } from "bun:test";
import { source } from "../sources/helpers.ts";
import { answer, generic, ingress, signed, url } from "./fixture.ts";

describe("ingress answers", () => {
  test("200 after the publish is acknowledged, with the event id", async () => {
    const { app, published } = ingress();
    const a = await answer(await app.handle(new Request(url(), signed('{"data":{"Email":"a@b.de"}}'))));
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ received: true, duplicate: false });
    expect(published).toHaveLength(1);
  });

  test("405 for a method other than POST (and GET for sources that take it), never a 404", async () => {
    const { app } = ingress();
    const put = await answer(await app.handle(new Request(url(), { method: "PUT" })));
    expect([put.status, put.body.error?.code]).toEqual([405, "method_not_allowed"]);
    const get = await answer(await app.handle(new Request(url())));
    expect([get.status, get.body.error?.code, get.allow]).toEqual([405, "method_not_allowed", "POST"]);
  });

  test("405's Allow names the methods the source takes: GET only for a type that delivers by GET (found by schemathesis)", async () => {
    const heyflow = source("heyflow", { scheme: "token", tokens: ["t"], header: "x-webhook-token" });
    const { app } = ingress({ sources: [generic(), heyflow] });
    const allowOf = async (path: string) =>
      (await answer(await app.handle(new Request(path, { method: "PUT" })))).allow;
    expect(await allowOf(url())).toBe("POST");
    expect(await allowOf(url("heyflow"))).toBe("POST, GET");
  });

  test("413 for a body over the source's limit, declared or not", async () => {
    const { app, published } = ingress({
      sources: [generic({ maxBodyBytes: 64 })],
    });
    const big = JSON.stringify({ data: { note: "x".repeat(100) } });
    const a = await answer(await app.handle(new Request(url(), signed(big))));
    expect([a.status, a.body.error?.code]).toEqual([413, "body_too_large"]);
    expect(published).toHaveLength(0);
  });

  test("415 for a content type the source does not accept", async () => {
    const { app } = ingress();
    const a = await answer(
      await app.handle(new Request(url(), signed("a=b", undefined, { "content-type": "text/plain" }))),
    );
    expect([a.status, a.body.error?.code]).toEqual([415, "unsupported_media_type"]);
  });

  test("429 with Retry-After past the source's rate, counted after authentication", async () => {
    const { app } = ingress({
      sources: [generic({ rateLimitPerSecond: 2 })],
    });
    // Unsigned requests are refused before the limiter and use up nothing.
    for (let i = 0; i < 5; i++)
      expect(
        (
          await app.handle(
            new Request(url(), { method: "POST", body: "{}", headers: { "content-type": "application/json" } }),
          )
        ).status,
      ).toBe(401);
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof answer>> | undefined;
    for (let i = 0; i < 4; i++) {
      last = await answer(await app.handle(new Request(url(), signed(`{"n":${i}}`))));
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 429, 429]);
    expect(last?.body.error?.code).toBe("rate_limited");
    expect(Number(last?.retryAfter)).toBeGreaterThan(0);
  });

  test("503 with Retry-After while the queue is unreachable, and when a publish is not acknowledged", async () => {
    const down = ingress({ queueUp: false });
    const a = await answer(await down.app.handle(new Request(url(), signed("{}"))));
    expect([a.status, a.body.error?.code, a.retryAfter]).toEqual([503, "queue_unavailable", "2"]);
    expect(down.published).toHaveLength(0);

    const failing = ingress({
      publish: async () => Promise.reject(Object.assign(new Error("timeout"), { code: "TIMEOUT" })),
    });
    const b = await answer(await failing.app.handle(new Request(url(), signed("{}"))));
    expect([b.status, b.body.error?.code, b.retryAfter]).toEqual([503, "queue_unavailable", "2"]);
  });

  test("404 for an unknown source", async () => {
    const { app } = ingress();
    const a = await answer(await app.handle(new Request(url("nope"), signed("{}"))));
    expect([a.status, a.body.error?.code]).toEqual([404, "unknown_source"]);
  });
});
