// GET /openapi.json of the ingress: an OpenAPI 3.1 document generated, at each request, from
// what the ingress serves, so that it cannot drift from it:
// - one path for each configured source (the sources file's and those created at runtime), its
//   operations described from its source type (shared/sources/registry.ts: content types, GET),
//   its auth scheme's header names (shared/crypto, shared/sources/types.ts) and its limits;
// - the templated /v1/webhooks/{source}: 404 unknown_source for any other id (and, since the
//   pattern matches configured ids too, whatever they answer);
// - every refusal from refusals.ts, with the status the handler answers it with;
// - the health, metrics and document routes.
// It names source ids, schemes, header names and limits, never a secret, token, or allow-list
// entry: the same source ids the unauthenticated /metrics on this port labels its counters with.
import { GITHUB_SIGNATURE_HEADER } from "../../shared/crypto/github.ts";
import { STANDARD_WEBHOOK_HEADERS } from "../../shared/crypto/standard-webhooks.ts";
import { TYPEFORM_SIGNATURE_HEADER } from "../../shared/crypto/typeform.ts";
import { errorBodySchema } from "../../shared/http/errors.ts";
import { SERVER_RESPONSES } from "../../shared/http/server-responses.ts";
import { getAdapter, type SourceConfig } from "../../shared/sources/index.ts";
import { VERSION } from "../../shared/version.ts";
import { AUTH_FAILURE_CODES, type RefusalCode, WEBHOOK_REFUSALS } from "./refusals.ts";
import { WEBHOOK_ROUTE } from "./webhook.ts";

type Json = Record<string, unknown>;

const FORM = "application/x-www-form-urlencoded";

const retryAfterHeader = {
  "Retry-After": { description: "seconds to wait before retrying", schema: { type: "string", pattern: "^[0-9]+$" } },
};

/** Responses for the refusals `codes` (grouped by status) and, for 401, the auth failures. */
function refusalResponses(codes: readonly RefusalCode[], withAuth: boolean): Record<string, Json> {
  const byStatus = new Map<number, RefusalCode[]>();
  for (const code of codes) {
    const { status } = WEBHOOK_REFUSALS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, Json> = {};
  if (withAuth)
    responses[401] = {
      description: "the signature or token is missing or does not verify",
      content: { "application/json": { schema: errorBodySchema(AUTH_FAILURE_CODES) } },
    };
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = {
      description: group.map((code) => `${code}: ${WEBHOOK_REFUSALS[code].when}`).join("; "),
      content: { "application/json": { schema: errorBodySchema(group) } },
      ...(group.some((code) => "retryAfter" in WEBHOOK_REFUSALS[code]) ? { headers: retryAfterHeader } : {}),
    };
  }
  return responses;
}

const accepted = {
  description:
    "stored by JetStream (PubAck received); duplicate: the same provider event id, or the same body when " +
    "the provider sends none, was stored before and is not projected twice",
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["received", "eventId", "duplicate"],
        properties: { received: { const: true }, eventId: { type: "string" }, duplicate: { type: "boolean" } },
      },
    },
  },
};

const header = (name: string, description: string, required: boolean): Json => ({
  name,
  in: "header",
  required,
  description,
  schema: { type: "string" },
});

/** Where the source's sender puts its credential: header (and query) parameters, from its auth scheme. */
function authParameters(auth: SourceConfig["auth"]): Json[] {
  switch (auth.scheme) {
    case "standard-webhooks":
      return [
        header(STANDARD_WEBHOOK_HEADERS.id, "Standard Webhooks message id (also the dedup key)", true),
        header(STANDARD_WEBHOOK_HEADERS.timestamp, `unix seconds, within ${auth.toleranceSeconds} s of now`, true),
        header(STANDARD_WEBHOOK_HEADERS.signature, 'space-separated "v1,<base64 HMAC-SHA256>" entries', true),
      ];
    case "typeform":
      return [header(TYPEFORM_SIGNATURE_HEADER, "sha256=<base64 HMAC-SHA256 of the body>", true)];
    case "github":
      return [header(GITHUB_SIGNATURE_HEADER, "sha256=<hex HMAC-SHA256 of the body>", true)];
    case "stripe":
      return [header(auth.header, `t=<unix seconds>,v1=<hex HMAC-SHA256>, within ${auth.toleranceSeconds} s`, true)];
    case "token":
      // Any one of them: none is required on its own.
      return [
        header(auth.header, "the shared token", false),
        header(
          "authorization",
          `Basic (password: the token${auth.basicUser ? "; user fixed" : ""}) or Bearer <token>`,
          false,
        ),
        ...(auth.queryParam
          ? [
              {
                name: auth.queryParam,
                in: "query",
                required: false,
                description: "the shared token",
                schema: { type: "string" },
              },
            ]
          : []),
      ];
  }
}

/** A body schema for each accepted media type. */
function bodyContent(contentTypes: readonly string[]): Json {
  return Object.fromEntries(
    contentTypes.map((type) => [
      type,
      {
        schema:
          type === "application/json"
            ? { type: "object", description: "the provider's payload (a JSON object), verified over its raw bytes" }
            : type === FORM
              ? { type: "object", additionalProperties: { type: "string" } }
              : { type: "string" },
      },
    ]),
  );
}

/** The refusals a request with `method` to `source` can get: only those that can happen for it. */
function refusalsFor(source: SourceConfig, method: "post" | "get"): RefusalCode[] {
  const codes: RefusalCode[] = [method === "post" ? "unreadable_body" : undefined, "unparseable_body"].filter(
    (c): c is RefusalCode => c !== undefined,
  );
  // A runtime source can be disabled in the dashboard at any time; a file source cannot.
  if ("enabled" in source) codes.push("source_disabled");
  if (source.allowedIps.length > 0) codes.push("ip_not_allowed");
  codes.push("body_too_large");
  // A GET's query string is read as a form-encoded body.
  if (method === "post" || !source.contentTypes.includes(FORM)) codes.push("unsupported_media_type");
  if (source.rateLimitPerSecond > 0) codes.push("rate_limited");
  codes.push("queue_unavailable", "queue_full", "overloaded");
  return codes;
}

/** The operations of one configured source's webhook URL. */
function sourceOperations(source: SourceConfig): Json {
  const operation = (method: "post" | "get") => ({
    tags: [source.adapter],
    summary: `Deliver a ${source.adapter} webhook to source ${source.id}${method === "get" ? " as a GET (the answers in the query string)" : ""}`,
    description:
      `Source type ${source.adapter}, authenticated by ${source.auth.scheme}; bodies up to ${source.maxBodyBytes} bytes` +
      (source.rateLimitPerSecond > 0 ? `; ${source.rateLimitPerSecond} requests/s` : "") +
      ". Answered 200 only once JetStream stored it.",
    operationId: `${method}-${source.id}`,
    responses: { 200: accepted, ...refusalResponses(refusalsFor(source, method), true) },
  });
  const post = {
    ...operation("post"),
    parameters: authParameters(source.auth),
    requestBody: { required: true, content: bodyContent(source.contentTypes) },
  };
  if (!getAdapter(source.adapter).acceptsGet) return { post };
  const get = {
    ...operation("get"),
    parameters: [
      ...authParameters(source.auth),
      {
        name: "answers",
        in: "query",
        style: "form",
        explode: true,
        schema: { type: "object", additionalProperties: { type: "string" } },
      },
    ],
  };
  return { post, get };
}

/**
 * The URL pattern of every webhook: an id not configured gets 404, and since the pattern matches
 * the configured ids too (a client may fill it with one), it lists every answer they can get.
 */
const anySource = (method: "post" | "get") => ({
  summary: `${method.toUpperCase()} a webhook to any source id: 404 unknown_source unless configured (see its own path)`,
  operationId: `${method}-any-source`,
  parameters: [{ name: "source", in: "path", required: true, schema: { type: "string" } }],
  responses: {
    200: accepted,
    ...refusalResponses(
      (Object.keys(WEBHOOK_REFUSALS) as RefusalCode[]).filter(
        (code) => code !== "method_not_allowed" || method === "get",
      ),
      true,
    ),
  },
});

const readiness = {
  type: "object",
  required: ["status", "draining", "checks"],
  properties: {
    status: { enum: ["ready", "not_ready"] },
    draining: { type: "boolean" },
    checks: { type: "object", additionalProperties: { type: "boolean" } },
  },
};

const healthPaths = {
  "/health/live": {
    get: {
      summary: "Liveness: answers while the process runs",
      responses: {
        200: {
          description: "alive",
          content: { "application/json": { schema: { type: "object", properties: { status: { const: "ok" } } } } },
        },
      },
    },
  },
  "/health/ready": {
    get: {
      summary: "Readiness: NATS connected and the stream present, not draining",
      responses: {
        200: { description: "ready", content: { "application/json": { schema: readiness } } },
        503: {
          description: "not ready (the failing checks are false)",
          content: { "application/json": { schema: readiness } },
        },
      },
    },
  },
  "/health/detailed": {
    get: {
      summary: "Every dependency's state, for operators (DASHBOARD_API_TOKENS, role admin)",
      security: [{ bearer: [] }],
      responses: {
        200: { description: "healthy or degraded", content: { "application/json": { schema: { type: "object" } } } },
        401: { description: "no or unknown token", content: { "application/json": { schema: errorBodySchema() } } },
        403: {
          description: "the token's role is below admin",
          content: { "application/json": { schema: errorBodySchema() } },
        },
        503: { description: "unhealthy", content: { "application/json": { schema: { type: "object" } } } },
      },
    },
  },
  "/metrics": {
    get: {
      summary: "Prometheus metrics",
      responses: {
        200: { description: "Prometheus text format", content: { "text/plain": { schema: { type: "string" } } } },
      },
    },
  },
  "/openapi.json": {
    get: {
      summary: "This document",
      responses: {
        200: { description: "OpenAPI 3.1", content: { "application/json": { schema: { type: "object" } } } },
      },
    },
  },
};

/** The ingress's OpenAPI document for the sources it serves now. */
export function ingressOpenApi(sources: ReadonlyMap<string, SourceConfig>): Json {
  const template = WEBHOOK_ROUTE.replace(/:(\w+)/g, "{$1}");
  const paths: Record<string, Json> = {};
  for (const id of [...sources.keys()].sort())
    paths[WEBHOOK_ROUTE.replace(":source", encodeURIComponent(id))] = sourceOperations(sources.get(id)!);
  paths[template] = { post: anySource("post"), get: anySource("get") };
  const all = { ...paths, ...healthPaths } as Record<string, Record<string, { responses: Json }>>;
  // Bun's own answers, to any route.
  for (const item of Object.values(all))
    for (const [method, op] of Object.entries(item))
      item[method] = { ...op, responses: { ...op.responses, ...SERVER_RESPONSES } };
  return {
    openapi: "3.1.0",
    info: {
      title: "hookline ingress",
      version: VERSION,
      description:
        "Webhook receiver. Errors are JSON {error:{code,message}}; a configured source never answers 404. " +
        "Any other method on a webhook URL: 405 method_not_allowed with Allow.",
    },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths: all,
  };
}
