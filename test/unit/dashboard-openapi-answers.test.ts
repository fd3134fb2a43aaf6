// The dashboard's /openapi.json tells the truth about answers: each request below gets a status
// the document lists for its operation. Each row is a request schemathesis found answered with an
// undocumented status (test/integration/fuzz.test.ts), kept here as a fast regression test.
import { expect, test } from "bun:test";
import { ADMIN, inProcessDashboard } from "./dashboard-in-process.ts";
import { generic } from "./ingress/fixture.ts";

const { call } = inProcessDashboard();
const document = (async () =>
  (await (await call("GET", "/openapi.json")).json()) as {
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  })();

test("every API route declares its parameters and responses (an undeclared one cannot be fuzzed past a 400)", async () => {
  const undeclared = Object.entries((await document).paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([, op]) => (op as { "x-schema-declared"?: boolean })["x-schema-declared"] === false)
      .map(([method]) => `${method.toUpperCase()} ${path}`),
  );
  // Served by shared/http/health-detailed.ts on every service, documented by hand in the ingress's document.
  expect(undeclared).toEqual(["GET /health/detailed"]);
});

test.each([
  // No such form: 404 form_not_found.
  ["GET", "/api/v1/forms/{source}/{formId}/questions", "/api/v1/forms/0/0/questions", undefined, 404],
  // No such source: 404 unknown_source.
  ["POST", "/v1/sources/{source}/preview", "/v1/sources/nope/preview", "{}", 404],
  // Not found by the fuzzer (the route declared no body, so every request was a 400), but by
  // reading the routes without a declared document beside those two: no such conflict.
  ["POST", "/api/v1/conflicts/{id}/resolve", "/api/v1/conflicts/1/resolve", '{"action":"accept"}', 404],
] as const)("%s %s answers with a status its document lists", async (method, template, path, body, status) => {
  const res = await call(method, path, { ...ADMIN, "content-type": "application/json" }, body);
  expect(res.status).toBe(status);
  const documented = Object.keys((await document).paths[template]![method.toLowerCase()]!.responses);
  expect(documented).toContain(String(status));
});

test("a mapping's changes must be an object: an array is refused, not saved as a version that changes nothing (found by schemathesis)", async () => {
  const { call: withSource } = inProcessDashboard({ sources: new Map([["generic", generic()]]) });
  const json = { ...ADMIN, "content-type": "application/json" };
  for (const [method, path] of [
    ["PUT", "/api/v1/forms/generic/f1/mappings"],
    ["POST", "/api/v1/forms/generic/f1/mappings/preview"],
  ] as const) {
    const res = await withSource(method, path, json, JSON.stringify({ changes: [null, null] }));
    expect([method, res.status, ((await res.json()) as { error?: { code: string } }).error?.code]).toEqual([
      method,
      400,
      "invalid_request",
    ]);
  }
});

test("an error answer's body is documented as the error contract makes it (shared/http/errors.ts), code and message required", async () => {
  const { call: plain } = inProcessDashboard();
  const res = await plain("GET", "/api/v1/patients/1");
  const body = (await res.json()) as { error: Record<string, unknown> };
  expect([res.status, Object.keys(body), Object.keys(body.error).sort()]).toEqual([
    401,
    ["error"],
    ["code", "message"],
  ]);
  const responses = (await document).paths["/api/v1/patients/{id}"]!.get!.responses as Record<
    string,
    { content: { "application/json": { schema: unknown } } }
  >;
  expect(responses["401"]!.content["application/json"].schema).toEqual({
    type: "object",
    required: ["error"],
    properties: {
      error: {
        type: "object",
        required: ["code", "message"],
        properties: { code: { type: "string" }, message: { type: "string" } },
      },
    },
  });
});
