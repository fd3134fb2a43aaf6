// Peer (a): the common "just write it" receiver. Express parses the raw body, the
// signature is checked, and the row is INSERTed into Postgres before the 200, so the
// answer is as durable as hookline's PubAck (synchronous_commit is on).
import express from "express";
import pg from "pg";
import { checkWebhook, errorJson, SCHEMA_SQL } from "./common.js";

const port = Number(process.env.PORT ?? 8091);
// Sized like a typical production service on a small box: enough to keep 2 cores busy,
// few enough not to thrash Postgres with context switches.
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.PG_POOL ?? 16) });
await pool.query(SCHEMA_SQL);

const app = express();
app.disable("x-powered-by");
app.disable("etag");
app.post("/v1/webhooks/:source", express.raw({ type: () => true, limit: "256kb" }), async (req, res) => {
  const check = checkWebhook(req.params.source, req.headers, req.body);
  if (check.status) return errorJson(res, check.status, check.code);
  try {
    const r = await pool.query(
      "insert into bench.peer_direct_events (event_id, source, body) values ($1, $2, $3) on conflict (event_id) do nothing",
      [check.eventId, req.params.source, check.body],
    );
    res.json({ received: true, eventId: check.eventId, duplicate: r.rowCount === 0 });
  } catch (error) {
    console.error("insert failed", error.message);
    res.set("retry-after", "2");
    errorJson(res, 503, "storage_unavailable");
  }
});
app.get("/health/ready", (_req, res) => res.json({ status: "ok" }));
const server = app.listen(port, "127.0.0.1", () => console.log(`direct peer on :${port}`));
server.keepAliveTimeout = 65_000;
const stop = () => server.close(() => pool.end().then(() => process.exit(0)));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
