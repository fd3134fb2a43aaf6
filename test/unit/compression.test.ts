import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { acceptsGzip, compressAnswers } from "../../shared/http/compression.ts";
import { json } from "../../shared/http/errors.ts";

const big = { items: Array.from({ length: 300 }, (_, i) => ({ id: String(i), lastName: `Müller ${i}` })) };
const bigText = JSON.stringify(big);
const app = new Elysia()
  .use(compressAnswers())
  .get("/big", () => json(big, 201, { "x-kept": "yes", vary: "Origin" }))
  .get(
    "/sized",
    () =>
      new Response(bigText, {
        headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(bigText)) },
      }),
  )
  .get("/small", () => json({ ok: true }))
  .get("/png", () => new Response(new Uint8Array(20_000), { headers: { "content-type": "image/png" } }))
  .get("/empty", () => new Response(null, { status: 204 }))
  .get(
    "/already",
    () => new Response("x".repeat(20_000), { headers: { "content-type": "text/plain", "content-encoding": "br" } }),
  )
  // A stream that never ends, as server-sent events are: buffering it would never answer.
  .get(
    "/events",
    () =>
      new Response(
        new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode(`data: ${"x".repeat(20_000)}\n\n`)) }),
        {
          headers: { "content-type": "text/event-stream" },
        },
      ),
  );

const get = (path: string, acceptEncoding?: string) =>
  app.handle(
    new Request(`http://localhost${path}`, { headers: acceptEncoding ? { "accept-encoding": acceptEncoding } : {} }),
  );

describe("compressAnswers", () => {
  test("a large JSON answer is gzipped for a client that accepts it, keeping its status and headers", async () => {
    const res = await get("/big", "gzip, deflate, br");
    expect(res.status).toBe(201);
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(res.headers.get("vary")).toBe("Origin, Accept-Encoding");
    expect(res.headers.get("x-kept")).toBe("yes");
    expect(res.headers.get("content-type")).toBe("application/json");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.byteLength).toBeLessThan(bigText.length / 3);
    expect(JSON.parse(new TextDecoder().decode(Bun.gunzipSync(bytes)))).toEqual(big);
  });

  test("a Content-Length of the uncompressed body is not kept on the compressed one", async () => {
    const res = await get("/sized", "gzip");
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(res.headers.get("content-length")).toBeNull();
    expect(JSON.parse(new TextDecoder().decode(Bun.gunzipSync(new Uint8Array(await res.arrayBuffer()))))).toEqual(big);
  });

  test("sent as it is to a client that does not accept gzip, and when small, with Vary all the same", async () => {
    for (const res of [await get("/big"), await get("/big", "br"), await get("/big", "gzip;q=0, *")]) {
      expect(res.status).toBe(201);
      expect(res.headers.get("content-encoding")).toBeNull();
      expect(res.headers.get("vary")).toBe("Origin, Accept-Encoding");
      expect(await res.json()).toEqual(big);
    }
    const small = await get("/small", "gzip");
    expect(small.headers.get("content-encoding")).toBeNull();
    expect(small.headers.get("vary")).toBe("Accept-Encoding");
    expect(await small.json()).toEqual({ ok: true });
  });

  test("leaves alone what is not text, has no body, is already encoded, or is a stream of events", async () => {
    const png = await get("/png", "gzip");
    expect(png.headers.get("content-encoding")).toBeNull();
    expect(png.headers.get("vary")).toBeNull();
    expect((await png.arrayBuffer()).byteLength).toBe(20_000);
    const empty = await get("/empty", "gzip");
    expect(empty.status).toBe(204);
    expect(empty.headers.get("content-encoding")).toBeNull();
    expect((await get("/already", "gzip")).headers.get("content-encoding")).toBe("br");
    const events = await get("/events", "gzip");
    expect(events.headers.get("content-encoding")).toBeNull();
    expect(events.headers.get("content-type")).toBe("text/event-stream");
  });

  test("acceptsGzip reads q-values and the wildcard", () => {
    expect(acceptsGzip("gzip")).toBe(true);
    expect(acceptsGzip("deflate, GZIP;q=0.5")).toBe(true);
    expect(acceptsGzip("x-gzip")).toBe(true);
    expect(acceptsGzip("*")).toBe(true);
    expect(acceptsGzip("br, *;q=0.1")).toBe(true);
    expect(acceptsGzip("gzip;q=0")).toBe(false);
    expect(acceptsGzip("gzip;q=0, *")).toBe(false);
    expect(acceptsGzip("*;q=0")).toBe(false);
    expect(acceptsGzip("identity")).toBe(false);
    expect(acceptsGzip(null)).toBe(false);
    expect(acceptsGzip("")).toBe(false);
  });
});
