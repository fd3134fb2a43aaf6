// headerView reads a message's headers once into a map; it must answer every get() as nats.js's
// MsgHdrs does (exact key, first value, "" when absent), since decoding and tracing read through it.
import { expect, test } from "bun:test";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { headerView } from "../../../services/projector/decode.ts";

test("answers as MsgHdrs.get: exact key, first of repeated values, empty when absent", () => {
  const h = natsHeaders();
  h.set("Hookline-Event-Id", "evt_1");
  h.append("X-Repeated", "first");
  h.append("X-Repeated", "second");
  h.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  // Round-trip through the wire format, as a received message's headers are.
  const impl = h as unknown as { encode(): Uint8Array; constructor: { decode(b: Uint8Array): typeof h } };
  const received = impl.constructor.decode(impl.encode());
  const view = headerView(received)!;
  for (const key of ["Hookline-Event-Id", "X-Repeated", "traceparent", "hookline-event-id", "Missing"])
    expect(view.get(key)).toBe(received.get(key));
  expect(view.get("X-Repeated")).toBe("first");
  expect(view.get("hookline-event-id")).toBe("");
});

test("a message without headers has no view", () => {
  expect(headerView(undefined)).toBeUndefined();
});
