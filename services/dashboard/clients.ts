// The clients and sources API (issue #11 item 1): "Add New Client" (a client and its first
// source, whose webhook URL, secret and setup steps are answered once), more sources for a
// client, secret rotation with an overlap, disabling and enabling a source, and the listings.
// Mounted behind bearerAuth: roles in access.ts (admin for every change). Listings run under the
// caller's scope (scope.ts), so a client-scoped token sees only its own client and sources.
// Every change is in the audit trail with the caller as actor.
import { Elysia } from "elysia";
import type { Sql, TransactionSql } from "postgres";
import * as v from "valibot";
import { recordAudit } from "../../shared/audit/writer.ts";
import type { Principal } from "../../shared/auth/bearer.ts";
import type { Keyring } from "../../shared/crypto/keyring.ts";
import { isRowId } from "../../shared/db/row-id.ts";
import { errorResponse, json } from "../../shared/http/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import type { SourceConfig } from "../../shared/sources/index.ts";
import { RUNTIME_SOURCE_TYPES, type RuntimeSourceType } from "../../shared/sources/runtime.ts";
import { callerOf } from "./audit.ts";
import { routeDoc } from "./route-doc.ts";
import { withScope } from "./scope.ts";
import {
  createSource,
  listSources,
  rotateSecret,
  SourceError,
  type SourceRegistry,
  type SourceView,
  setEnabled,
  setupSteps,
  sourceActivity,
  sourceNameTaken,
  webhookUrl,
} from "./sources.ts";

export interface ClientRoutesDeps {
  sql: Sql;
  /** The data keyring: source secrets are sealed with it. */
  keyring: Keyring;
  /** The sources file's sources: they win for their names, and are listed with origin "file". */
  fileSources: Map<string, SourceConfig>;
  /** Where sources are published (natsSourceRegistry); without one every change answers 503. */
  registry?: SourceRegistry;
  /** PUBLIC_WEBHOOK_BASE_URL: where senders reach the ingress (default: the dev ingress). */
  webhookBaseUrl?: string;
  /** Dead letters of the last 24 hours per source, when it can be told (shared/dead-letters). */
  errorsLast24h?: (sources: string[]) => Promise<Map<string, number> | null>;
  log: Logger;
}

const SOURCE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

const NewClient = v.object({
  name: v.pipe(
    v.string("name must be text"),
    v.trim(),
    v.minLength(1, "name is required"),
    v.maxLength(200, "name is at most 200 characters"),
  ),
  sourceType: v.picklist(RUNTIME_SOURCE_TYPES, `sourceType must be one of: ${RUNTIME_SOURCE_TYPES.join(", ")}`),
  sourceName: v.optional(
    v.pipe(
      v.string("sourceName must be text"),
      v.regex(
        SOURCE_NAME,
        "sourceName: lower-case letters, digits and dashes, starting with a letter or digit (max 63)",
      ),
    ),
  ),
});
const NewSource = v.object({ sourceType: NewClient.entries.sourceType, sourceName: NewClient.entries.sourceName });

// The answers' shapes, for /openapi.json (route-doc.ts).
const SourceType = v.picklist(RUNTIME_SOURCE_TYPES);
const CreatedSource = v.object({
  name: v.string(),
  type: SourceType,
  clientId: v.string(),
  enabled: v.boolean(),
  webhookUrl: v.string(),
  secret: v.pipe(v.string(), v.description("shown only in this answer")),
  setup: v.pipe(v.array(v.string()), v.description("the steps to connect the tool, with the URL filled in")),
});
const ListedSource = v.object({
  name: v.string(),
  type: SourceType,
  clientId: v.string(),
  enabled: v.boolean(),
  createdAt: v.string(),
  rotatedAt: v.nullable(v.string()),
  webhookUrl: v.string(),
});
const Client = v.object({ id: v.string(), name: v.string(), createdAt: v.string() });
const ClientList = v.object({ items: v.array(v.object({ ...Client.entries, sources: v.array(ListedSource) })) });
const SourceHealth = v.object({
  items: v.array(
    v.object({
      name: v.string(),
      type: v.string(),
      clientId: v.nullable(v.string()),
      enabled: v.boolean(),
      origin: v.picklist(["file", "runtime"]),
      lastEventAt: v.nullable(v.string()),
      eventsLast24h: v.number(),
      errorsLast24h: v.pipe(v.nullable(v.number()), v.description("dead letters; null while NATS cannot be asked")),
    }),
  ),
});
const NameParams = v.object({ name: v.string() });
const SourceAnswer = v.object({ source: v.omit(ListedSource, ["webhookUrl"]) });

/** 400 with the JSON error contract and every invalid field (for the modal's inline messages). */
function invalid(issues: v.BaseIssue<unknown>[]): Response {
  const fields = issues.map((issue) => ({ field: v.getDotPath(issue) ?? "(body)", message: issue.message }));
  return json({ error: { code: "invalid_request", message: fields.map((f) => f.message).join("; "), fields } }, 400);
}

function parse<S extends v.GenericSchema>(schema: S, body: unknown): v.InferOutput<S> | Response {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    return json(
      {
        error: {
          code: "invalid_request",
          message: "send a JSON object",
          fields: [{ field: "(body)", message: "send a JSON object" }],
        },
      },
      400,
    );
  const result = v.safeParse(schema, body, { abortPipeEarly: true });
  return result.success ? result.output : invalid(result.issues);
}

/** A source name from the client's name: "Praxis Müller" + typeform → praxis-muller-typeform. */
export function sourceNameFor(clientName: string, type: RuntimeSourceType, n = 1): string {
  const slug = clientName
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/ß/g, "ss")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  const suffix = `-${type}${n > 1 ? `-${n}` : ""}`;
  const head = (slug || "client").slice(0, 63 - suffix.length).replace(/-+$/, "");
  return `${head || "client"}${suffix}`;
}

const actor = (p: Principal) => ({ actor: p.id, details: { actorName: p.name, role: p.role } });

/** The API's error for a SourceError. */
function sourceErrorResponse(error: SourceError): Response {
  const status = {
    source_name_taken: 409,
    source_not_found: 404,
    client_not_found: 404,
    registry_unavailable: 503,
  } as const;
  return errorResponse(
    status[error.code],
    error.code,
    error.message,
    error.code === "registry_unavailable" ? { "retry-after": "2" } : {},
  );
}

const NO_REGISTRY: SourceRegistry = {
  put: () => Promise.reject(new Error("this dashboard has no sources registry (NATS_URL)")),
};

export function clientRoutes(options: ClientRoutesDeps) {
  const deps = {
    ...options,
    registry: options.registry ?? NO_REGISTRY,
    webhookBaseUrl: options.webhookBaseUrl ?? "http://127.0.0.1:8080",
  };
  const { sql, log } = deps;
  const fileNames: ReadonlySet<string> = new Set(deps.fileSources.keys());
  const sourceDeps = { keyring: deps.keyring, registry: deps.registry, fileSources: fileNames };

  /** The source as answered when it is created: with its URL, secret and setup steps (shown only here). */
  const created = (source: SourceView, secret: string) => {
    const url = webhookUrl(deps.webhookBaseUrl, source.name);
    return {
      name: source.name,
      type: source.type,
      clientId: source.clientId,
      enabled: source.enabled,
      webhookUrl: url,
      secret,
      setup: setupSteps(source.type, url),
    };
  };

  /** The requested name, or the first free one made from the client's name. */
  async function chooseName(
    tx: TransactionSql,
    clientName: string,
    type: RuntimeSourceType,
    requested?: string,
  ): Promise<string> {
    if (requested !== undefined) {
      if (await sourceNameTaken(tx, fileNames, requested))
        throw new SourceError("source_name_taken", `a source is named "${requested}" already`);
      return requested;
    }
    for (let n = 1; n < 100; n++) {
      const name = sourceNameFor(clientName, type, n);
      if (!(await sourceNameTaken(tx, fileNames, name))) return name;
    }
    throw new SourceError("source_name_taken", "no free source name; send sourceName");
  }

  /** Runs a change; SourceErrors become their API errors. */
  async function change(fn: () => Promise<Response>): Promise<Response> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof SourceError) {
        if (error.code === "registry_unavailable") log.warn({ err: (error.cause as Error)?.message }, error.message);
        return sourceErrorResponse(error);
      }
      throw error;
    }
  }

  const sourceName = (name: string) =>
    SOURCE_NAME.test(name) ? null : errorResponse(404, "source_not_found", "no runtime source of that name");

  const toggle = (enabled: boolean) => (context: { params: { name: string } }) =>
    sourceName(context.params.name) ??
    change(async () => {
      const principal = callerOf(context);
      const source = await withScope(sql, principal, async (tx) => {
        const s = await setEnabled(tx, deps.registry, context.params.name, enabled);
        await recordAudit(tx, {
          ...actor(principal),
          action: enabled ? "source.enable" : "source.disable",
          entityType: "source",
          entityId: s.name,
        });
        return s;
      });
      return json({ source });
    });

  return new Elysia()
    .post(
      "/api/v1/clients",
      (context) => {
        const input = parse(NewClient, context.body);
        if (input instanceof Response) return input;
        const principal = callerOf(context);
        return change(async () => {
          const answer = await withScope(sql, principal, async (tx) => {
            const [client] = await tx`
            insert into clients (name) values (${input.name})
            on conflict ((lower(btrim(name)))) do nothing
            returning id, name, created_at`;
            if (!client) return null;
            const name = await chooseName(tx, input.name, input.sourceType, input.sourceName);
            const { source, secret } = await createSource(tx, sourceDeps, {
              name,
              type: input.sourceType,
              clientId: String(client.id),
            });
            await recordAudit(tx, [
              { ...actor(principal), action: "client.create", entityType: "client", entityId: String(client.id) },
              {
                ...actor(principal),
                action: "source.create",
                entityType: "source",
                entityId: source.name,
                details: { ...actor(principal).details, type: source.type, clientId: source.clientId },
              },
            ]);
            return {
              client: {
                id: String(client.id),
                name: client.name as string,
                createdAt: client.created_at.toISOString(),
              },
              source: created(source, secret),
            };
          });
          if (!answer)
            return json(
              {
                error: {
                  code: "client_name_taken",
                  message: `a client is named "${input.name}" already`,
                  fields: [{ field: "name", message: "a client of this name exists" }],
                },
              },
              409,
            );
          return json(answer, 201);
        });
      },
      routeDoc({
        summary: "Add a client and its first source: the webhook URL, a secret shown only here, and setup steps",
        body: NewClient,
        responses: {
          201: ["the client and its source", v.object({ client: Client, source: CreatedSource })],
          400: "invalid input: error.fields lists {field, message} per field",
          409: "a client or source of this name exists",
          503: "the sources registry (NATS) did not confirm; nothing was stored",
        },
      }),
    )
    .get(
      "/api/v1/clients",
      async (context) => {
        const principal = callerOf(context);
        const { clients, sources } = await withScope(sql, principal, async (tx) => ({
          clients: await tx`select id, name, created_at from clients order by lower(name), id`,
          sources: await listSources(tx),
        }));
        return json({
          items: clients.map((c) => ({
            id: String(c.id),
            name: c.name,
            createdAt: c.created_at.toISOString(),
            sources: sources
              .filter((s) => s.clientId === String(c.id))
              .map((s) => ({ ...s, webhookUrl: webhookUrl(deps.webhookBaseUrl, s.name) })),
          })),
        });
      },
      routeDoc({
        summary: "Clients with their sources (a client-scoped token: its own only)",
        responses: { 200: ["the clients", ClientList] },
      }),
    )
    .post(
      "/api/v1/clients/:id/sources",
      (context) => {
        if (!isRowId(context.params.id))
          return errorResponse(404, "client_not_found", `no client ${context.params.id}`);
        const input = parse(NewSource, context.body);
        if (input instanceof Response) return input;
        const principal = callerOf(context);
        return change(async () => {
          const answer = await withScope(sql, principal, async (tx) => {
            const [client] = await tx`select id, name from clients where id = ${context.params.id}::bigint`;
            if (!client) throw new SourceError("client_not_found", `no client ${context.params.id}`);
            const name = await chooseName(tx, client.name, input.sourceType, input.sourceName);
            const { source, secret } = await createSource(tx, sourceDeps, {
              name,
              type: input.sourceType,
              clientId: String(client.id),
            });
            await recordAudit(tx, {
              ...actor(principal),
              action: "source.create",
              entityType: "source",
              entityId: source.name,
              details: { ...actor(principal).details, type: source.type, clientId: source.clientId },
            });
            return { source: created(source, secret) };
          });
          return json(answer, 201);
        });
      },
      routeDoc({
        summary: "Add another source to a client",
        params: v.object({ id: v.string() }),
        body: NewSource,
        responses: {
          201: ["the source, with its secret shown only here", v.object({ source: CreatedSource })],
          400: "invalid input",
          404: "no such client",
          409: "a source of this name exists",
          503: "the sources registry (NATS) did not confirm; nothing was stored",
        },
      }),
    )
    .get(
      "/api/v1/sources",
      async (context) => {
        const principal = callerOf(context);
        const { runtime, activity } = await withScope(sql, principal, async (tx) => {
          const runtime = (await listSources(tx)).filter((s) => !fileNames.has(s.name));
          // File sources belong to no client: only an unscoped caller sees them.
          const names = [...(principal.clientId ? [] : fileNames), ...runtime.map((s) => s.name)];
          return { runtime, activity: await sourceActivity(tx, names) };
        });
        const items = [
          ...(principal.clientId
            ? []
            : [...deps.fileSources.values()].map((s) => ({
                name: s.id,
                type: s.adapter,
                clientId: null,
                enabled: true,
                origin: "file" as const,
              }))),
          ...runtime.map((s) => ({
            name: s.name,
            type: s.type,
            clientId: s.clientId,
            enabled: s.enabled,
            origin: "runtime" as const,
          })),
        ];
        const errors = await (deps.errorsLast24h?.(items.map((i) => i.name)) ?? Promise.resolve(null)).catch(
          () => null,
        );
        return json({
          items: items.map((i) => ({
            ...i,
            lastEventAt: activity.get(i.name)?.lastEventAt ?? null,
            eventsLast24h: activity.get(i.name)?.eventsLast24h ?? 0,
            // null when the dead letters cannot be counted (NATS unreachable).
            errorsLast24h: errors ? (errors.get(i.name) ?? 0) : null,
          })),
        });
      },
      routeDoc({
        summary:
          "Every source (the sources file's and those created at runtime) with its last event and the last 24 hours",
        responses: { 200: ["the sources", SourceHealth] },
      }),
    )
    .post(
      "/api/v1/sources/:name/rotate-secret",
      (context) =>
        sourceName(context.params.name) ??
        change(async () => {
          const principal = callerOf(context);
          const rotated = await withScope(sql, principal, async (tx) => {
            const r = await rotateSecret(tx, sourceDeps, context.params.name);
            await recordAudit(tx, {
              ...actor(principal),
              action: "source.rotate_secret",
              entityType: "source",
              entityId: context.params.name,
              details: { ...actor(principal).details, previousExpiresAt: r.previousExpiresAt },
            });
            return r;
          });
          return json(rotated);
        }),
      routeDoc({
        summary: "A new secret; the previous one keeps working for 24 hours",
        params: NameParams,
        responses: {
          200: ["the new secret (shown only here)", v.object({ secret: v.string(), previousExpiresAt: v.string() })],
          404: "no source of that name was created at runtime",
        },
      }),
    )
    .post(
      "/api/v1/sources/:name/disable",
      toggle(false),
      routeDoc({
        summary: "Disable a source: every ingress answers 403 source_disabled for it",
        params: NameParams,
        responses: { 200: ["the source", SourceAnswer], 404: "no source of that name was created at runtime" },
      }),
    )
    .post(
      "/api/v1/sources/:name/enable",
      toggle(true),
      routeDoc({
        summary: "Enable a disabled source again",
        params: NameParams,
        responses: { 200: ["the source", SourceAnswer], 404: "no source of that name was created at runtime" },
      }),
    );
}
