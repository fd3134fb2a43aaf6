// The API description served at /openapi.json.
import { PATIENT_FIELDS, type PatientFieldSpec } from "../../shared/patient-fields.ts";
import { ROUTE_ROLES } from "./access.ts";

const nullable = (schema: Record<string, unknown>) => ({ ...schema, type: [schema.type, "null"] });
const str = { type: "string" };
/** An object with keys of its own choosing. */
const openObject = { type: "object", additionalProperties: true };

/** A patient: the canonical fields (from the field table, with their types), then the record's bookkeeping. */
const patient = {
  type: "object",
  properties: {
    id: str,
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
    source: str,
    formId: nullable(str),
    eventId: { ...str, description: "the latest submission merged into this record" },
    submittedAt: { ...str, format: "date-time" },
    eventsCount: { type: "integer", description: "submissions with this email, conflicts included" },
    answers: { ...openObject, description: "every answer, label → value (patient data)" },
    openConflicts: { type: "integer", description: "open identity conflicts (GET /api/v1/patients/{id}/conflicts)" },
    createdAt: { ...str, format: "date-time" },
    updatedAt: { ...str, format: "date-time" },
  },
};
const conflict = {
  type: "object",
  properties: {
    id: { type: "string" },
    patientId: { type: "string" },
    eventId: { type: "string" },
    fields: {
      type: "array",
      items: { enum: PATIENT_FIELDS.filter((f: PatientFieldSpec) => f.identity).map((f) => f.name) },
      description: "identity fields on which the submission differs (or that it left unconfirmed)",
    },
    submission: {
      type: "object",
      description: "the submission's canonical values, answers, source and formId (patient data)",
    },
    submittedAt: { type: "string" },
    status: { enum: ["open", "accepted", "dismissed"] },
    createdAt: { type: "string" },
    resolvedAt: { type: ["string", "null"] },
  },
};
const error = {
  type: "object",
  properties: { error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" } } } },
};
const page = (items: object) => ({
  type: "object",
  properties: { items: { type: "array", items }, nextCursor: { type: ["string", "null"] } },
});
const errors = {
  400: { description: "bad request", content: { "application/json": { schema: error } } },
  401: { description: "missing or bad bearer token", content: { "application/json": { schema: error } } },
};
const forbidden = {
  403: {
    description: "the token's role is below the one this operation needs (code forbidden)",
    content: { "application/json": { schema: error } },
  },
};
/** The parameters of a patient search, in the query (GET) or the body (POST). */
const searchFields = {
  q: {
    type: "string",
    description: "an email (exact, case-insensitive), or part of a name, or a phone in E.164",
  },
  source: { type: "string" },
  limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
  cursor: { type: "string" },
};

const document = {
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
          "GET /api/v1/patients/{id} shows one patient whole and is recorded in the audit trail.",
      },
    },
    schemas: { Patient: patient },
  },
  security: [{ bearer: [] }],
  paths: {
    "/api/v1/patients": {
      get: {
        summary:
          "List or search patients (newest first). A search term in the URL reaches proxies' access logs: " +
          "prefer POST /api/v1/patients/search",
        parameters: Object.entries(searchFields).map(([name, schema]) => ({ name, in: "query", schema })),
        responses: {
          200: { description: "a page of patients", content: { "application/json": { schema: page(patient) } } },
          ...errors,
        },
      },
    },
    "/api/v1/patients/search": {
      post: {
        summary: "Search patients (newest first), the search in the body so that it stays out of URLs",
        requestBody: {
          required: true,
          content: { "application/json": { schema: { type: "object", properties: searchFields } } },
        },
        responses: {
          200: { description: "a page of patients", content: { "application/json": { schema: page(patient) } } },
          ...errors,
        },
      },
    },
    "/api/v1/patients/{id}": {
      get: {
        summary: "One patient",
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
        responses: {
          200: { description: "the patient", content: { "application/json": { schema: patient } } },
          404: { description: "not found" },
          ...errors,
        },
      },
      delete: {
        summary:
          "Erase the patient (right to be forgotten): its row, conflicts, form submissions, raw events and cached copy; audited without its data",
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
        responses: {
          200: {
            description: "erased: what was removed, counted",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    erased: {
                      type: "object",
                      properties: {
                        id: { type: "string" },
                        patients: { type: "integer" },
                        conflicts: { type: "integer" },
                        formSubmissions: { type: "integer" },
                        webhookEvents: { type: "integer" },
                      },
                    },
                  },
                },
              },
            },
          },
          404: { description: "not found" },
          ...errors,
        },
      },
    },
    "/api/v1/conflicts": {
      get: {
        summary: "Submissions held back because they contradict a patient's name or date of birth (newest first)",
        parameters: [
          { name: "status", in: "query", schema: { enum: ["open", "accepted", "dismissed"], default: "open" } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500, default: 50 } },
          { name: "cursor", in: "query", schema: { type: "string" } },
        ],
        responses: {
          200: { description: "a page of conflicts", content: { "application/json": { schema: page(conflict) } } },
          ...errors,
        },
      },
    },
    "/api/v1/patients/{id}/conflicts": {
      get: {
        summary: "One patient's conflicts, any status unless `status` is given (newest first)",
        parameters: [
          { name: "id", in: "path", required: true, schema: { type: "string" } },
          { name: "status", in: "query", schema: { enum: ["open", "accepted", "dismissed"] } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500, default: 50 } },
          { name: "cursor", in: "query", schema: { type: "string" } },
        ],
        responses: {
          200: { description: "a page of conflicts", content: { "application/json": { schema: page(conflict) } } },
          ...errors,
        },
      },
    },
    "/api/v1/conflicts/{id}/resolve": {
      post: {
        summary:
          'Resolve an open conflict: accept merges the submission as "later wins" would have; ' +
          "dismiss leaves the patient unchanged",
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: { type: "object", required: ["action"], properties: { action: { enum: ["accept", "dismiss"] } } },
            },
          },
        },
        responses: {
          200: {
            description: "the resolved conflict and the patient as it is now",
            content: { "application/json": { schema: { type: "object", properties: { conflict, patient } } } },
          },
          404: { description: "no such conflict" },
          409: { description: "already resolved" },
          ...errors,
        },
      },
    },
    "/api/v1/events": {
      get: {
        summary: "Received webhook events (newest first)",
        parameters: [
          { name: "source", in: "query", schema: { type: "string" } },
          { name: "include", in: "query", schema: { enum: ["canonical"] } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500, default: 50 } },
          { name: "cursor", in: "query", schema: { type: "string" } },
        ],
        responses: { 200: { description: "a page of events" }, ...errors },
      },
    },
    "/api/v1/forms": {
      get: { summary: "Forms seen, with submission counts", responses: { 200: { description: "forms" }, ...errors } },
    },
    "/api/v1/forms/{source}/{formId}/questions": {
      get: {
        summary: "Questions seen in a form, with how often each was answered",
        parameters: [
          { name: "source", in: "path", required: true, schema: { type: "string" } },
          { name: "formId", in: "path", required: true, schema: { type: "string" } },
        ],
        responses: { 200: { description: "questions" }, 404: { description: "no such form" }, ...errors },
      },
    },
    "/api/v1/forms/{source}/{formId}/submissions": {
      get: {
        summary: "A form's submissions, newest first; with `question`, only that question's answer each",
        parameters: [
          { name: "source", in: "path", required: true, schema: { type: "string" } },
          { name: "formId", in: "path", required: true, schema: { type: "string" } },
          { name: "question", in: "query", schema: { type: "string" } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500, default: 50 } },
          { name: "cursor", in: "query", schema: { type: "string" } },
        ],
        responses: { 200: { description: "a page of submissions" }, ...errors },
      },
    },
    "/v1/sources/{source}/preview": {
      post: {
        summary: "Parse and map a sample payload for a source without publishing it",
        parameters: [{ name: "source", in: "path", required: true, schema: { type: "string" } }],
        responses: {
          200: { description: "the canonical event and whether the request would authenticate" },
          404: { description: "unknown source" },
          ...errors,
        },
      },
    },
    "/health/detailed": {
      get: {
        summary:
          "Every dependency's state (Postgres and its replication role, Redis, disk, key ages) and the version; the ingress and projector serve it too, with NATS and JetStream",
        responses: {
          200: { description: "healthy or degraded: {status, reasons, service, checkedAt, version, checks}" },
          401: errors[401],
          503: { description: "unhealthy (the same body)" },
        },
      },
    },
  },
};

/**
 * The paths with each operation's security naming the role its rule in access.ts needs (an
 * operation without a rule is an error), and the 403 documented where that is above viewer.
 */
function withSecurity(paths: Record<string, object>) {
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item as Record<string, { responses: object }>).map(([method, op]) => {
          const key = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`;
          const role = ROUTE_ROLES[key as keyof typeof ROUTE_ROLES];
          if (!role) throw new Error(`no access rule for the documented ${key}`);
          const responses = role === "viewer" ? op.responses : { ...op.responses, ...forbidden };
          return [method, { ...op, security: [{ bearer: [role] }], responses }];
        }),
      ),
    ]),
  );
}

export const openApiDocument = { ...document, paths: withSecurity(document.paths) };
