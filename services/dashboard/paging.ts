// Keyset paging for every listing of the dashboard API: one reading of `limit` and `cursor`,
// one cursor encoding, the same 400s everywhere. A cursor is opaque to clients (base64url JSON)
// and checked against the listing's schema, so a forged one is a 400, not a failed query.
import * as v from "valibot";
import { errorResponse, json } from "../../shared/http/errors.ts";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

/** `limit` as a whole number from 1 to MAX_LIMIT (DEFAULT_LIMIT when absent), else a 400. */
function limitParam(value: string | undefined): number | Response {
  if (value === undefined) return DEFAULT_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT)
    return errorResponse(400, "invalid_limit", `limit must be a whole number from 1 to ${MAX_LIMIT}`);
  return n;
}

/** `limit` and `cursor` as a listing's query parameters, for its route document (route-doc.ts). */
export const PAGE_QUERY = {
  // No pattern: any notation of a whole number from 1 to MAX_LIMIT is taken ("1e2" too).
  limit: v.optional(
    v.pipe(v.string(), v.description(`a whole number from 1 to ${MAX_LIMIT} (default ${DEFAULT_LIMIT})`)),
  ),
  cursor: v.optional(v.pipe(v.string(), v.description("the previous page's cursor"))),
};

/** A cursor this API handed out, as the listing's schema describes it; absent → undefined; anything else a 400. */
function decodeCursor<S extends v.GenericSchema>(
  schema: S,
  cursor: string | undefined,
): v.InferOutput<S> | undefined | Response {
  if (!cursor) return undefined;
  try {
    const result = v.safeParse(schema, JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (result.success) return result.output;
  } catch {}
  return errorResponse(400, "invalid_cursor", "cursor is not one this API returned");
}

const encodeCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/**
 * One keyset-paged listing: validates `limit` and `cursor`, fetches a page after the
 * cursor, and hands out the cursor of its last item when the page was full.
 */
export async function keysetPage<S extends v.GenericSchema, T>(
  schema: S,
  query: { limit?: string; cursor?: string },
  fetchPage: (limit: number, after: v.InferOutput<S> | undefined) => Promise<T[]>,
  cursorOf: (last: T) => v.InferOutput<S>,
): Promise<Response> {
  const limit = limitParam(query.limit);
  if (limit instanceof Response) return limit;
  const after = decodeCursor(schema, query.cursor);
  if (after instanceof Response) return after;
  const items = await fetchPage(limit, after);
  const last = items.at(-1);
  return json({ items, nextCursor: items.length === limit && last ? encodeCursor(cursorOf(last)) : null });
}
