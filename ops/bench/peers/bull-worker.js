// The Bull peer's consumer: one job → one INSERT (BullMQ processes jobs one at a time per
// slot; `concurrency` slots share a small pg pool).
import { Worker } from "bullmq";
import pg from "pg";
import { redisOptions, SCHEMA_SQL } from "./common.js";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.PG_POOL ?? 8) });
await pool.query(SCHEMA_SQL);
const worker = new Worker(
  "webhooks",
  async (job) => {
    await pool.query(
      "insert into bench.peer_bull_events (event_id, source, body) values ($1, $2, $3) on conflict (event_id) do nothing",
      [job.data.eventId, job.data.source, job.data.body],
    );
  },
  {
    connection: redisOptions(),
    prefix: process.env.BULL_PREFIX ?? "hlbench",
    concurrency: Number(process.env.CONCURRENCY ?? 50),
  },
);
console.log("bull worker running");
const stop = () =>
  worker
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
