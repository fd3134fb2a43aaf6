// `hookline dlq replay --seq N` names one dead letter: when there is none at N, nothing was
// replayed and the command must say so and fail (as the API's replay answers 404), not exit 0.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Cluster, DATABASE_URL, ROOT, startCluster } from "./harness.ts";

let cluster: Cluster;

beforeAll(async () => {
  // The ingress creates the streams (WEBHOOKS_DLQ among them), empty.
  cluster = await startCluster(["ingress"]);
});
afterAll(async () => {
  await cluster?.stop();
});

test("dlq replay --seq of a dead letter that does not exist exits 1 naming it", async () => {
  const cli = Bun.spawn(["bun", "ops/hookline.ts", "dlq", "replay", "--seq", "424242"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, NATS_URL: cluster.nats.url, DATABASE_URL },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = [await new Response(cli.stdout).text(), await new Response(cli.stderr).text()];
  expect(await cli.exited).toBe(1);
  expect(out).toContain("0 replayed, 0 failed");
  expect(err).toContain("no dead letter 424242");
});
