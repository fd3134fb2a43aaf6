// The dead-letter list and replay over HTTP, as `hookline dlq list|replay` does them: the same
// walk, replay and audit entry (shared/dead-letters.ts). Admin only (access.ts): a replay puts a
// message back into the pipeline. NATS is reached on demand (nats-link.ts); without it these
// answer 503.
import { Elysia } from "elysia";
import type { Sql } from "postgres";
import { recordAudit } from "../../shared/audit/writer.ts";
import {
  type DeadLetterRecord,
  deadLetterReplayed,
  readDeadLetters,
  replayDeadLetter,
} from "../../shared/dead-letters.ts";
import { errorResponse, json } from "../../shared/http/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import { callerOf } from "./audit.ts";
import type { NatsLink } from "./nats-link.ts";

export interface DeadLetterDeps {
  sql: Sql;
  nats?: NatsLink;
  log: Logger;
}

const SEQ = /^\d{1,15}$/;
const MAX_LIMIT = 200;

export function deadLetterRoutes({ sql, nats, log }: DeadLetterDeps) {
  const unavailable = (error: unknown) => {
    log.warn({ err: (error as Error).message }, "dead letters unavailable");
    return errorResponse(503, "nats_unavailable", "the dead-letter stream cannot be reached right now", {
      "retry-after": "5",
    });
  };

  return new Elysia()
    .get("/api/v1/dead-letters", async ({ query }) => {
      const limit = query.limit === undefined ? 50 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
        return errorResponse(400, "invalid_limit", `limit must be a whole number from 1 to ${MAX_LIMIT}`);
      if (query.cursor !== undefined && !SEQ.test(query.cursor))
        return errorResponse(400, "invalid_cursor", "cursor must be a sequence number from a previous page");
      if (!nats) return unavailable(new Error("no NATS link"));
      const items: DeadLetterRecord[] = [];
      let more = false;
      try {
        const nc = await nats.get();
        const filter = { source: query.source, code: query.code, afterSeq: query.cursor ? Number(query.cursor) : 0 };
        for await (const { letter } of readDeadLetters(nc, filter)) {
          if (items.length === limit) {
            more = true;
            break;
          }
          items.push(letter);
        }
      } catch (error) {
        return unavailable(error);
      }
      return json({ items, nextCursor: more ? String(items.at(-1)!.seq) : null });
    })
    .post("/api/v1/dead-letters/:seq/replay", async (context) => {
      const { seq } = context.params;
      if (!SEQ.test(seq)) return errorResponse(400, "invalid_id", "a dead letter's id is its sequence number");
      if (!nats) return unavailable(new Error("no NATS link"));
      let found: Awaited<ReturnType<typeof readOne>>;
      let to: { seq: number; subject: string };
      try {
        const nc = await nats.get();
        found = await readOne(nc, Number(seq));
        if (!found) return errorResponse(404, "dead_letter_not_found", `no dead letter ${seq}`);
        to = await replayDeadLetter(nc, found.msg);
      } catch (error) {
        return unavailable(error);
      }
      const principal = callerOf(context);
      // After the replay, as the CLI does: the entry records what happened, with who did it.
      await sql.begin((tx) =>
        recordAudit(
          tx,
          deadLetterReplayed(principal.id, found!.letter, to.seq, { actorName: principal.name, role: principal.role }),
        ),
      );
      return json({ replayed: { ...found!.letter, replayedAs: to.seq, replayedTo: to.subject } });
    });
}

async function readOne(nc: Parameters<typeof readDeadLetters>[0], seq: number) {
  for await (const found of readDeadLetters(nc, { seq })) return found;
  return null;
}
