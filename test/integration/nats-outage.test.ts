// NATS down: the ingress must answer 503 + Retry-After (never 200: nothing could be
// stored) and recover by itself when NATS is back.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { PATIENTS } from "../../shared/db/sealed.ts";
import { openRows, patientByEmail } from "../keys.ts";
import { type Cluster, postWebhook, signGeneric, startCluster, waitFor } from "./harness.ts";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector"]);
});
afterAll(() => cluster?.stop());

test("ingress answers 503 while NATS is down and 200 again once it is back", async () => {
  const { nats, sql } = cluster;
  const ingress = cluster.services.ingress!;
  const ok = await postWebhook(
    ingress.url,
    "generic",
    signGeneric({ data: { Email: "before@example.com" } }, "msg_outage_before"),
  );
  expect(ok.status).toBe(200);

  await nats.stop();
  const statuses: number[] = [];
  const elapsed: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    const res = await postWebhook(
      ingress.url,
      "generic",
      signGeneric({ data: { Email: `during${i}@example.com` } }, `msg_outage_${i}`),
    );
    elapsed.push(performance.now() - started);
    statuses.push(res.status);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await res.json()).error.code).toBe("queue_unavailable");
  }
  expect(statuses).toEqual([503, 503, 503, 503, 503]);
  console.log(`503 while NATS down: slowest answer ${Math.max(...elapsed).toFixed(0)} ms`);

  const ready = await fetch(`${ingress.url}/health/ready`);
  expect(ready.status).toBe(503);

  await nats.start();
  const recovered = await waitFor(
    "ingress to accept again",
    async () => {
      const res = await postWebhook(
        ingress.url,
        "generic",
        signGeneric({ data: { Email: "after@example.com" } }, "msg_outage_after"),
      );
      return res.status === 200 ? res : undefined;
    },
    30_000,
    200,
  );
  expect((await recovered.json()).received).toBe(true);

  await waitFor(
    "events projected after recovery",
    async () => {
      const rows = await Promise.all(["before@example.com", "after@example.com"].map((e) => patientByEmail(sql, e)));
      return rows.every(Boolean);
    },
    30_000,
  );
  // Nothing answered 503 was stored.
  const during = (await openRows(sql, PATIENTS)).filter((p) => p.email?.startsWith("during"));
  expect(during).toHaveLength(0);
}, 90_000);
