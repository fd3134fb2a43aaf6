// Per-source guards configured in the sources file: rate limit (429 + Retry-After) and
// IP allow-list (403), answered before any signature work or publish.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Cluster, devSourcesWith, postWebhook, signGeneric, startCluster } from "./harness.ts";

let cluster: Cluster;

beforeAll(async () => {
  const sourcesFile = devSourcesWith([
    { from: "generic", id: "limited", rateLimitPerSecond: 2 },
    { from: "generic", id: "walled", allowedIps: ["10.0.0.0/8"] },
    { from: "generic", id: "local-only", allowedIps: ["127.0.0.1/32", "::1"] },
  ]);
  // Loopback plays the load balancer, so X-Forwarded-For decides the client address.
  cluster = await startCluster(["ingress"], { HOOKLINE_SOURCES: sourcesFile, TRUSTED_PROXIES: "127.0.0.1,::1" });
});

afterAll(() => cluster?.stop());

test("a burst over the source's rate gets 429 with Retry-After", async () => {
  const ingress = cluster.services.ingress!;
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 6; i++) {
    const res = await postWebhook(
      ingress.url,
      "limited",
      signGeneric({ data: { Email: `r${i}@example.com` } }, `msg_rate_${i}`),
    );
    statuses.push(res.status);
    if (res.status === 429) {
      retryAfter = res.headers.get("retry-after");
      expect((await res.json()).error.code).toBe("rate_limited");
    }
  }
  expect(statuses.slice(0, 2)).toEqual([200, 200]);
  expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(3);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  // Other sources are not affected.
  expect((await postWebhook(ingress.url, "generic", signGeneric({ data: {} }, "msg_rate_other"))).status).toBe(200);
});

test("an address outside the allow-list gets 403; an allowed one is served", async () => {
  const ingress = cluster.services.ingress!;
  const denied = await postWebhook(ingress.url, "walled", signGeneric({ data: {} }, "msg_walled"));
  expect(denied.status).toBe(403);
  expect((await denied.json()).error.code).toBe("ip_not_allowed");
  const allowed = await postWebhook(ingress.url, "local-only", signGeneric({ data: {} }, "msg_local"));
  expect(allowed.status).toBe(200);
  // Behind the (trusted) proxy, the forwarded client address is what the allow-list sees.
  const forwardedIn = signGeneric({ data: {} }, "msg_fwd_in");
  forwardedIn.headers["x-forwarded-for"] = "10.1.2.3";
  expect((await postWebhook(ingress.url, "walled", forwardedIn)).status).toBe(200);
  const forwardedOut = signGeneric({ data: {} }, "msg_fwd_out");
  forwardedOut.headers["x-forwarded-for"] = "10.1.2.3, 198.51.100.7";
  expect((await postWebhook(ingress.url, "walled", forwardedOut)).status).toBe(403);
});

test("unsigned requests do not use up the source's rate budget", async () => {
  const ingress = cluster.services.ingress!;
  await Bun.sleep(1100); // let the bucket refill after the burst above
  for (let i = 0; i < 10; i++) {
    const forged = signGeneric({ data: {} }, `msg_forged_${i}`);
    forged.headers["webhook-signature"] = `v1,${Buffer.alloc(32).toString("base64")}`;
    expect((await postWebhook(ingress.url, "limited", forged)).status).toBe(401);
  }
  expect((await postWebhook(ingress.url, "limited", signGeneric({ data: {} }, "msg_after_forged"))).status).toBe(200);
});
