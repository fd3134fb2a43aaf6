// The dead-letter list and replay over HTTP, as `hookline dlq list|replay` does them: the same
// walk, replay and audit entry (shared/dead-letters.ts). Admin only (access.ts): a replay puts a
// message back into the pipeline. NATS is reached on demand (nats-link.ts); without it these
// answer 503.
import { Elysia } from "elysia";
import type { Sql } from "postgres";
import * as v from "valibot";
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
import { routeDoc } from "./route-doc.ts";

export interface DeadLetterDeps {
  sql: Sql;
  nats?: NatsLink;
  log: Logger;
}

/**
 * A dead letter's sequence, from 1 (JetStream refuses to look up 0, which read as NATS being
 * down): its id, and the listing's cursor (nextCursor is the last letter of the previous page).
 */
const SEQ = /^[1-9]\d{0,14}$/;
const MAX_LIMIT = 200;

const DeadLetter = v.object({
  seq: v.pipe(v.number(), v.description("its sequence in WEBHOOKS_DLQ: the id to replay it by")),
  subject: v.string(),
  source: v.string(),
  eventId: v.nullable(v.string()),
  code: v.nullable(v.string()),
  reason: v.nullable(v.string()),
  originalSubject: v.nullable(v.string()),
  deliveries: v.nullable(v.number()),
  storedAt: v.pipe(v.string(), v.isoTimestamp()),
  bytes: v.number(),
});
const LIST_DOC = routeDoc({
  summary: "Dead letters, oldest first, with the reason each was kept",
  query: v.object({
    source: v.optional(v.string()),
    code: v.optional(v.string()),
    limit: v.optional(v.pipe(v.string(), v.description(`1 to ${MAX_LIMIT} (default 50)`))),
    cursor: v.optional(v.pipe(v.string(), v.description("nextCursor of the previous page"))),
  }),
  responses: {
    200: ["a page of dead letters", v.object({ items: v.array(DeadLetter), nextCursor: v.nullable(v.string()) })],
    400: "limit or cursor invalid",
    503: "NATS unreachable",
  },
});
const REPLAY_DOC = routeDoc({
  summary: "Replays one dead letter to its original subject and removes it (audited)",
  params: v.object({ seq: v.pipe(v.string(), v.regex(SEQ)) }),
  responses: {
    200: [
      "what was replayed",
      v.object({
        replayed: v.object({ ...DeadLetter.entries, replayedAs: v.number(), replayedTo: v.string() }),
      }),
    ],
    404: "no such dead letter (already replayed, or expired)",
    503: "NATS unreachable",
  },
});

export function deadLetterRoutes({ sql, nats, log }: DeadLetterDeps) {
  const unavailable = (error: unknown) => {
    log.warn({ err: (error as Error).message }, "dead letters unavailable");
    return errorResponse(503, "nats_unavailable", "the dead-letter stream cannot be reached right now", {
      "retry-after": "5",
    });
  };

  return new Elysia()
    .get(
      "/api/v1/dead-letters",
      async ({ query }) => {
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
      },
      LIST_DOC,
    )
    .post(
      "/api/v1/dead-letters/:seq/replay",
      async (context) => {
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
            deadLetterReplayed(principal.id, found!.letter, to.seq, {
              actorName: principal.name,
              role: principal.role,
            }),
          ),
        );
        return json({ replayed: { ...found!.letter, replayedAs: to.seq, replayedTo: to.subject } });
      },
      REPLAY_DOC,
    );
}

async function readOne(nc: Parameters<typeof readDeadLetters>[0], seq: number) {
  for await (const found of readDeadLetters(nc, { seq })) return found;
  return null;
}
