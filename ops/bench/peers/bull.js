// Peer (b): the common queue-backed receiver. Express verifies, enqueues with BullMQ on
// Redis (jobId = event id, so a retry is deduplicated like hookline's Nats-Msg-Id) and
// answers 200 once Redis has the job. A separate worker process (bull-worker.js)
// INSERTs into Postgres.

import { Queue } from "bullmq";
import express from "express";
import { checkWebhook, errorJson, redisOptions } from "./common.js";

const port = Number(process.env.PORT ?? 8092);
const connection = redisOptions();
const queue = new Queue("webhooks", {
  connection,
  prefix: process.env.BULL_PREFIX ?? "hlbench",
  // Completed jobs are trimmed like any production setup does; failures are kept.
  defaultJobOptions: {
    removeOnComplete: 1000,
    removeOnFail: false,
    attempts: 5,
    backoff: { type: "exponential", delay: 1000 },
  },
});
await queue.waitUntilReady();

const app = express();
app.disable("x-powered-by");
app.disable("etag");
app.post("/v1/webhooks/:source", express.raw({ type: () => true, limit: "256kb" }), async (req, res) => {
  const check = checkWebhook(req.params.source, req.headers, req.body);
  if (check.status) return errorJson(res, check.status, check.code);
  try {
    const job = await queue.add(
      req.params.source,
      { source: req.params.source, eventId: check.eventId, body: check.body },
      { jobId: check.eventId },
    );
    res.json({ received: true, eventId: check.eventId, duplicate: job.id !== check.eventId });
  } catch (error) {
    console.error("enqueue failed", error.message);
    res.set("retry-after", "2");
    errorJson(res, 503, "queue_unavailable");
  }
});
app.get("/health/ready", (_req, res) => res.json({ status: "ok" }));
const server = app.listen(port, "127.0.0.1", () => console.log(`bull peer on :${port}`));
server.keepAliveTimeout = 65_000;
const stop = () => server.close(() => queue.close().then(() => process.exit(0)));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
