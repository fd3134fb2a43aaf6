// /openapi.json, generated from the routes the dashboard registers, and /docs, a page showing it.
//
// TO DOCUMENT A ROUTE: give it a rule in access.ts (every API route needs one anyway) and pass
// `routeDoc({ summary, params, query, body, responses })` (route-doc.ts) as its Elysia options,
// with valibot schemas; they are converted to JSON Schema here (@valibot/to-json-schema). Any
// route with a rule is listed, and its security names that rule's role; a route without a
// routeDoc gets a bare entry (its path parameters, "no schema declared"), which
// test/unit/dashboard-openapi-answers.test.ts reports, so declare one.
import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { errorBodySchema } from "../../shared/http/errors.ts";
import { SERVER_RESPONSES } from "../../shared/http/server-responses.ts";
import { PATIENT_FIELDS, type PatientFieldSpec } from "../../shared/patient-fields.ts";
import { ruleFor } from "./access.ts";
import { type RouteDoc, routeDocOf } from "./route-doc.ts";

/** A registered route as Elysia lists it (app.routes). */
export interface RegisteredRoute {
  method: string;
  path: string;
  hooks?: unknown;
}

type Json = Record<string, unknown>;

/** JSON Schema of a valibot schema; what cannot be expressed (transforms, checks) is left out, not an error. */
const jsonSchema = (schema: v.GenericSchema): Json => {
  const { $schema: _, ...rest } = toJsonSchema(schema, { errorMode: "ignore" }) as Json;
  return rest;
};

const nullable = (schema: Json) => ({ ...schema, type: [schema.type, "null"] });

/** The patient as a component: the canonical fields from the field table, with their types. */
const patientComponent = {
  type: "object",
  properties: {
    id: { type: "string" },
    ...Object.fromEntries(
      PATIENT_FIELDS.map((f: PatientFieldSpec) => [
        f.name,
        nullable({
          type: f.type === "boolean" ? "boolean" : "string",
          ...(f.type === "date" ? { format: "date" } : {}),
          ...(f.values ? { enum: [...f.values, null] } : {}),
          description: f.description,
        }),
      ]),
    ),
  },
  additionalProperties: true,
  description: "The canonical fields at the top level (shared/patient-fields.ts), then the record's bookkeeping",
};

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: errorBodySchema() } },
});

/** The parameters of an object schema, in `where`. */
function parameters(schema: v.ObjectSchema<v.ObjectEntries, undefined> | undefined, where: "path" | "query") {
  if (!schema) return [];
  const json = jsonSchema(schema) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === "path" || (json.required ?? []).includes(name),
    schema: s,
    ...(typeof s.description === "string" ? { description: s.description } : {}),
  }));
}

function operation(route: RegisteredRoute, doc: RouteDoc | undefined, role: string): Json {
  const pathParams = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const responses: Json = {};
  if (doc) {
    for (const [status, r] of Object.entries(doc.responses)) {
      const [description, schema] = typeof r === "string" ? [r, undefined] : r;
      responses[status] =
        schema !== undefined
          ? { description, content: { "application/json": { schema: jsonSchema(schema) } } }
          : Number(status) >= 400
            ? errorResponse(description)
            : { description };
    }
  } else responses[200] = { description: "success" };
  responses[400] ??= errorResponse("bad request");
  responses[401] = errorResponse("missing or bad bearer token");
  // Every rule above viewer refuses lower roles.
  if (role !== "viewer")
    responses[403] = errorResponse("the token's role is below the one this operation needs (code forbidden)");
  Object.assign(responses, SERVER_RESPONSES);
  return {
    summary: doc?.summary ?? `${route.method} ${route.path} (no schema declared)`,
    ...(doc?.description ? { description: doc.description } : {}),
    parameters: [
      ...(doc?.params
        ? parameters(doc.params, "path")
        : pathParams.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } }))),
      ...parameters(doc?.query, "query"),
    ],
    ...(doc?.body
      ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(doc.body) } } } }
      : {}),
    responses,
    security: [{ bearer: [role] }],
    ...(doc ? {} : { "x-schema-declared": false }),
  };
}

/** The OpenAPI document of every route with an access rule among `routes`. */
export function openApiDocument(routes: readonly RegisteredRoute[]): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const role = ruleFor(route.method, route.path);
    if (!role || route.method === "HEAD") continue;
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route, routeDocOf(route), role);
  }
  return {
    openapi: "3.1.0",
    info: { title: "hookline dashboard API", version: "1" },
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "A dashboard token (hl_…, `ops/hookline tokens create`), a DASHBOARD_API_TOKENS token, or, with " +
            "OIDC configured, the identity provider's JWT. Roles viewer < editor < admin; each operation's " +
            "security names the lowest role it needs. Viewers get patient data masked in lists " +
            "(a***@example.com, phone's last 2 digits, birth year, street and answers ***); " +
            "GET /api/v1/patients/{id} shows one patient whole and is recorded in the audit trail. " +
            "A client-scoped token sees its client's rows only (row-level security).",
        },
      },
      schemas: { Patient: patientComponent },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** /docs: the document as a plain page (no script: it runs under the dashboard's CSP). */
export function docsPage(doc: Json): string {
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const ops = Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => {
      const params = (op.parameters as Json[] | undefined) ?? [];
      const body = (op.requestBody as { content: { "application/json": { schema: Json } } } | undefined)?.content[
        "application/json"
      ].schema;
      const responses = op.responses as Record<
        string,
        { description: string; content?: Record<string, { schema: Json }> }
      >;
      const role = (op.security as { bearer: string[] }[])[0]!.bearer[0];
      return `<section id="${escapeHtml(`${method}-${path}`)}">
<h2><code>${method.toUpperCase()} ${escapeHtml(path)}</code> <small>role: ${escapeHtml(String(role))}</small></h2>
<p>${escapeHtml(String(op.summary))}</p>
${params.length ? `<h3>Parameters</h3><ul>${params.map((p) => `<li><code>${escapeHtml(String(p.name))}</code> (${p.in}${p.required ? ", required" : ""})${p.description ? `: ${escapeHtml(String(p.description))}` : ""}</li>`).join("")}</ul>` : ""}
${body ? `<h3>Body</h3><pre>${escapeHtml(JSON.stringify(body, null, 2))}</pre>` : ""}
<h3>Responses</h3><ul>${Object.entries(responses)
        .map(
          ([status, r]) =>
            `<li><b>${status}</b> ${escapeHtml(r.description)}${r.content ? `<details><summary>schema</summary><pre>${escapeHtml(JSON.stringify(r.content["application/json"]?.schema, null, 2))}</pre></details>` : ""}</li>`,
        )
        .join("")}</ul>
</section>`;
    }),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>hookline dashboard API</title></head>
<body><main>
<h1>hookline dashboard API</h1>
<p>Generated from the routes' schemas; the same document as <a href="/openapi.json">/openapi.json</a>. Every operation needs <code>Authorization: Bearer &lt;token&gt;</code> with at least the role shown.</p>
<nav><ul>${Object.entries(paths)
    .flatMap(([path, item]) =>
      Object.keys(item).map(
        (m) =>
          `<li><a href="#${escapeHtml(`${m}-${path}`)}"><code>${m.toUpperCase()} ${escapeHtml(path)}</code></a></li>`,
      ),
    )
    .join("")}</ul></nav>
${ops.join("\n")}
</main></body></html>`;
}
