import { describe, expect, test } from "bun:test";
import { clientAddress, compileAllowList } from "../../services/ingress/ip-allow.ts";
import { createRateLimiter } from "../../services/ingress/rate-limit.ts";
import { deriveEventId } from "../../shared/events.ts";

describe("IP allow-list", () => {
  test("empty list allows everyone", () => {
    expect(compileAllowList([])("203.0.113.9")).toBe(true);
  });
  test("CIDRs and single addresses, IPv4-mapped IPv6 included", () => {
    const allowed = compileAllowList(["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]);
    expect(allowed("10.1.2.3")).toBe(true);
    expect(allowed("::ffff:10.1.2.3")).toBe(true);
    expect(allowed("192.0.2.7")).toBe(true);
    expect(allowed("192.0.2.8")).toBe(false);
    expect(allowed("2001:db8::1")).toBe(true);
    expect(allowed("2001:db9::1")).toBe(false);
    expect(allowed(undefined)).toBe(false);
    expect(allowed("not an ip")).toBe(false);
  });
});

describe("rate limiter", () => {
  test("allows the rate, then asks to wait, then refills", () => {
    const limiter = createRateLimiter();
    const t0 = 1000;
    expect([0, 1, 2, 3, 4].map(() => limiter.take("s", 5, t0))).toEqual([0, 0, 0, 0, 0]);
    expect(limiter.take("s", 5, t0)).toBeGreaterThan(0);
    expect(limiter.take("other", 5, t0)).toBe(0);
    expect(limiter.take("s", 5, t0 + 400)).toBe(0);
    expect(limiter.take("s", 0, t0)).toBe(0);
  });
});

describe("event ids", () => {
  const body = new TextEncoder().encode('{"a":1}');
  test("same provider id → same event id, whatever the body", () => {
    expect(deriveEventId("generic", "msg_1", body)).toBe(deriveEventId("generic", "msg_1", new Uint8Array()));
  });
  test("source is part of the id", () => {
    expect(deriveEventId("generic", "msg_1", body)).not.toBe(deriveEventId("typeform", "msg_1", body));
  });
  test("without a provider id the bytes decide", () => {
    expect(deriveEventId("heyflow", null, body)).toBe(
      deriveEventId("heyflow", null, new TextEncoder().encode('{"a":1}')),
    );
    expect(deriveEventId("heyflow", null, body)).not.toBe(
      deriveEventId("heyflow", null, new TextEncoder().encode('{"a":2}')),
    );
    expect(deriveEventId("heyflow", null, body)).toMatch(/^evt_[0-9a-f]{32}$/);
  });
});

describe("client address behind proxies", () => {
  const trusted = compileAllowList(["10.0.0.0/8"]);
  test("an untrusted peer is the client, whatever it forwards", () => {
    expect(clientAddress("203.0.113.5", "198.51.100.1", trusted)).toBe("203.0.113.5");
  });
  test("through trusted proxies: the right-most untrusted hop", () => {
    expect(clientAddress("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.9", trusted)).toBe("198.51.100.1");
  });
  test("no header: the peer", () => {
    expect(clientAddress("10.0.0.2", null, trusted)).toBe("10.0.0.2");
  });
});
