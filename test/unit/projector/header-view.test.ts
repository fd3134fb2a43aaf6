// A message's headers are read once into a map (headerView, or parseHeaderBlock from the bytes
// received); every get() must answer as nats.js's MsgHdrs does (exact key, first of repeated
// values, "" when absent), since decoding and tracing read through it.
import { expect, test } from "bun:test";
import type { JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { headerView, messageHeaders, parseHeaderBlock } from "../../../services/projector/decode.ts";

type Headers = ReturnType<typeof natsHeaders>;
const KEYS = ["Hookline-Event-Id", "X-Repeated", "traceparent", "hookline-event-id", "X-Empty", "Missing", "X-Colon"];

/** Headers as the ingress sends them, and as nats.js decodes them from the wire. */
function wire(): { block: Uint8Array; received: Headers } {
  const h = natsHeaders();
  h.set("Hookline-Event-Id", "evt_1");
  h.append("X-Repeated", "first");
  h.append("X-Repeated", "second");
  h.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  h.set("X-Empty", "");
  h.set("X-Colon", "a: b");
  const impl = h as unknown as { encode(): Uint8Array; constructor: { decode(b: Uint8Array): Headers } };
  const block = impl.encode();
  return { block, received: impl.constructor.decode(block) };
}

test("headerView answers as MsgHdrs.get: exact key, first of repeated values, empty when absent", () => {
  const { received } = wire();
  const view = headerView(received)!;
  for (const key of KEYS) expect({ key, value: view.get(key) }).toEqual({ key, value: received.get(key) });
  expect(view.get("X-Repeated")).toBe("first");
  expect(headerView(undefined)).toBeUndefined();
});

test("parseHeaderBlock reads the wire bytes as MsgHdrs.decode does", () => {
  const { block, received } = wire();
  const view = parseHeaderBlock(block);
  for (const key of KEYS) expect({ key, value: view.get(key) }).toEqual({ key, value: received.get(key) });
  expect(view.get("X-Colon")).toBe("a: b");
});

test("messageHeaders parses a received message's own bytes, and falls back to msg.headers", () => {
  const { block, received } = wire();
  const payload = new TextEncoder().encode('{"a":1}');
  const data = new Uint8Array(block.length + payload.length);
  data.set(block);
  data.set(payload, block.length);
  const asReceived = { msg: { _rdata: data, _msg: { hdr: block.length } } } as unknown as JsMsg;
  for (const key of KEYS) expect(messageHeaders(asReceived)!.get(key)).toBe(received.get(key));
  const noHeaders = { msg: { _rdata: payload, _msg: { hdr: -1 } } } as unknown as JsMsg;
  expect(messageHeaders(noHeaders)).toBeUndefined();
  const other = { headers: received } as unknown as JsMsg;
  expect(messageHeaders(other)!.get("Hookline-Event-Id")).toBe("evt_1");
});
