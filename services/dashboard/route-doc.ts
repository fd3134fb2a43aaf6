// How a dashboard route documents itself for /openapi.json (openapi.ts): its Elysia options
// carry `detail` with a summary and valibot schemas, which the generator converts to JSON
// Schema. Example:
//
//   .get("/api/v1/things/:id", handler, routeDoc({
//     summary: "One thing",
//     params: v.object({ id: v.string() }),
//     responses: { 200: ["the thing", Thing], 404: "no such thing" },
//   }))
import type * as v from "valibot";

/** A response: its description, and the body's schema when it has one. */
type ResponseDoc = string | [description: string, schema: v.GenericSchema];

export interface RouteDoc {
  summary: string;
  description?: string;
  /** Path parameters (an object schema). */
  params?: v.ObjectSchema<v.ObjectEntries, undefined>;
  /** Query parameters (an object schema; each entry a parameter). */
  query?: v.ObjectSchema<v.ObjectEntries, undefined>;
  /** The JSON body. */
  body?: v.GenericSchema;
  responses: Record<number, ResponseDoc>;
}

/** The key under `detail` where the schemas travel (Elysia keeps `detail` with the route). */
const ROUTE_DOC = "x-hookline";

/** Elysia route options documenting the route. */
export const routeDoc = (doc: RouteDoc) => ({ detail: { summary: doc.summary, [ROUTE_DOC]: doc } });

/** The RouteDoc a registered route carries, if any. */
export function routeDocOf(route: { hooks?: unknown }): RouteDoc | undefined {
  const detail = (route.hooks as { detail?: Record<string, unknown> } | undefined)?.detail;
  return detail?.[ROUTE_DOC] as RouteDoc | undefined;
}
