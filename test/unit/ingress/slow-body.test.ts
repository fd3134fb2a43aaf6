// A body trickled in (slow-loris): read before authentication, it would hold one of the
// MAX_IN_FLIGHT slots for as long as the sender keeps sending a byte now and then (Bun's idle
// timeout restarts with every byte), so a few unauthenticated connections could shed every
// real webhook with 503 overloaded. The whole body must arrive within the deadline.
import { expect, test } from "bun:test";
import { answer, ingress, signed, url } from "./fixture.ts";

/** A body that sends its first bytes and then nothing more, never ending. */
function stalledBody(text: string) {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.slice(0, 5));
    },
    pull: () => new Promise<void>(() => {}),
  });
}

for (const declared of [false, true]) {
  test(`a stalled body (${declared ? "Content-Length declared" : "chunked"}) is cut off at the deadline (400 unreadable_body) and frees its slot`, async () => {
    const { app, published } = ingress({ maxInFlight: 1, bodyTimeoutMs: 300 });
    const text = JSON.stringify({ data: { Email: "slow.loris@example.com" } });
    const init = signed(text);
    const headers = { ...(init.headers as Record<string, string>) };
    if (declared) headers["content-length"] = String(new TextEncoder().encode(text).byteLength);
    const slow = app.handle(
      new Request(url(), { ...init, headers, body: stalledBody(text), duplex: "half" } as RequestInit),
    );
    const outcome = await Promise.race([slow.then(answer), Bun.sleep(3000).then(() => "still waiting after 3 s")]);
    expect(typeof outcome === "string" ? outcome : [outcome.status, outcome.body.error?.code]).toEqual([
      400,
      "unreadable_body",
    ]);
    // The slot is free again: a real webhook is served, not shed.
    const a = await answer(await app.handle(new Request(url(), signed(JSON.stringify({ data: {} })))));
    expect(a.status).toBe(200);
    expect(published).toHaveLength(1);
  });
}
