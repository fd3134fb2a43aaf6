// CLIENT spans for Postgres statements and Redis commands, added at the edge of each client
// (the postgres.js sql function, the ioredis connection) so no query site changes. A span is
// made only inside a recording span (a webhook's batch, a dashboard request): health probes
// and maintenance start no traces of their own, and an unsampled trace costs one check.
// Attributes name the system, the operation and the table, never a statement's parameters,
// a key or a value: those can hold patient data.
import { type Context, context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import type { Sql } from "postgres";
import type { Redis } from "./cache.ts";
import type { Tracing } from "./tracing.ts";

/** What the wrappers need of the service's tracing: nothing is wrapped while it is off. */
type ClientTracing = Pick<Tracing, "enabled" | "tracer">;

/** The recording span of `ctx`, if any: a child is only worth making under one. */
function recordingParent(ctx: Context): boolean {
  return trace.getSpan(ctx)?.isRecording() === true;
}

function settle(span: Span, promise: PromiseLike<unknown>, onSettled: () => void = () => {}): void {
  promise.then(
    () => {
      onSettled();
      span.end();
    },
    (error: { code?: unknown }) => {
      onSettled();
      // The code only (SQLSTATE, a socket code): a database's message can quote row values.
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error?.code ?? "error") });
      span.end();
    },
  );
}

const KEYWORD = /^\s*(?:--[^\n]*\n\s*)*([a-z]+)/i;
const TABLE: Record<string, RegExp> = {
  insert: /^\s*insert\s+into\s+([a-z_][\w.]*)/i,
  update: /^\s*update\s+([a-z_][\w.]*)/i,
  delete: /^\s*delete\s+from\s+([a-z_][\w.]*)/i,
  select: /\bfrom\s+([a-z_][\w.]*)/i,
};

/**
 * What a statement does and to which table, from its template text only (the literal parts
 * of sql`...`; the values are separate parameters). "with" statements are named by what
 * they end in when that is plain, else just "WITH".
 */
export function describeStatement(text: string): { operation: string; collection?: string } {
  const keyword = KEYWORD.exec(text)?.[1]?.toLowerCase() ?? "";
  const collection = TABLE[keyword]?.exec(text)?.[1];
  return { operation: keyword.toUpperCase() || "QUERY", ...(collection ? { collection } : {}) };
}

/** What postgres.js returns for an executable statement (its Query, a lazy promise). */
interface PgQuery extends Promise<unknown> {
  strings: readonly string[];
  executed: boolean;
  handle(): Promise<void>;
}

const isQuery = (value: unknown): value is PgQuery =>
  value instanceof Promise && Array.isArray((value as Partial<PgQuery>).strings) && "handle" in value;

/**
 * A span for one statement from when postgres.js sends it (its handle(), which runs on the
 * first then/execute: a fragment interpolated into another statement never runs) to its result.
 */
function traceQuery(tracer: Tracer, query: PgQuery): PgQuery {
  const parent = context.active();
  if (!recordingParent(parent)) return query;
  const handle = query.handle;
  query.handle = function (this: PgQuery) {
    if (!this.executed) {
      const { operation, collection } = describeStatement(this.strings.join("?"));
      const span = tracer.startSpan(
        collection ? `${operation} ${collection}` : operation,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            "db.system.name": "postgresql",
            "db.operation.name": operation,
            ...(collection ? { "db.collection.name": collection } : {}),
          },
        },
        parent,
      );
      // Promise's own then (a plain promise of the same result): the Query's would run it again.
      settle(span, Promise.prototype.then.call(this, undefined));
    }
    return handle.call(this);
  };
  return query;
}

/**
 * The same sql function, whose statements (and those of its transactions) make CLIENT spans
 * under the active span. With tracing off it is returned as it is.
 */
export function traceSql(sql: Sql, { enabled, tracer }: ClientTracing): Sql {
  if (!enabled) return sql;
  const wrap = (target: Sql): Sql =>
    new Proxy(target, {
      apply(fn, self, args) {
        const result = Reflect.apply(fn, self, args);
        return isQuery(result) ? traceQuery(tracer, result) : result;
      },
      get(fn, property, receiver) {
        const value = Reflect.get(fn, property, receiver);
        if (property === "unsafe")
          return (...args: unknown[]) => {
            const result = (value as (...a: unknown[]) => unknown)(...args);
            return isQuery(result) ? traceQuery(tracer, result) : result;
          };
        if (property === "begin")
          // The transaction's own sql function is a new one: wrap it too.
          return (...args: unknown[]) => {
            const fn = args.pop() as (tx: Sql) => unknown;
            return (value as (...a: unknown[]) => unknown)(...args, (tx: Sql) => fn(wrap(tx)));
          };
        return value;
      },
    });
  return wrap(sql);
}

interface RedisCommand {
  name: string;
  promise: Promise<unknown>;
  pipelineIndex?: number;
}

interface RedisPipeline {
  exec(...args: unknown[]): Promise<unknown>;
  length: number;
}

/**
 * The same connection, whose commands make CLIENT spans under the active span: one a
 * command, and one for a whole MULTI or pipeline (not one per queued command). With tracing
 * off it is returned as it is.
 */
export function traceRedis(redis: Redis, { enabled, tracer }: ClientTracing): Redis {
  if (!enabled) return redis;
  const start = (operation: string, parent: Context, size?: number) =>
    tracer.startSpan(
      operation,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "db.system.name": "redis",
          "db.operation.name": operation,
          ...(size === undefined ? {} : { "db.operation.batch.size": size }),
        },
      },
      parent,
    );
  const send = redis.sendCommand.bind(redis) as (command: RedisCommand, ...rest: unknown[]) => unknown;
  (redis as unknown as { sendCommand: typeof send }).sendCommand = (command, ...rest) => {
    const parent = context.active();
    // A queued command of a pipeline is sent when it runs: its span is the pipeline's.
    if (command.pipelineIndex === undefined && recordingParent(parent))
      settle(start(command.name.toUpperCase(), parent), command.promise);
    return send(command, ...rest);
  };
  for (const [method, operation] of [
    ["multi", "MULTI"],
    ["pipeline", "PIPELINE"],
  ] as const) {
    const make = (redis[method] as (...args: unknown[]) => RedisPipeline).bind(redis);
    (redis as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      const pipeline = make(...args);
      const exec = pipeline.exec.bind(pipeline);
      pipeline.exec = (...execArgs) => {
        const parent = context.active();
        const result = exec(...execArgs);
        if (recordingParent(parent)) settle(start(operation, parent, pipeline.length), result);
        return result;
      };
      return pipeline;
    };
  }
  return redis;
}
