// The ingress's /openapi.json in process: what it lists, and that what it says a request gets is
// what the real app answers (status documented for the operation, error code among the status's).
// test/integration/fuzz.test.ts runs schemathesis against it on a real cluster.
import { describe, expect, test } from "bun:test";
import { WEBHOOK_REFUSALS } from "../../../services/ingress/refusals.ts";
import type { SourceConfig } from "../../../shared/sources/types.ts";
import { source } from "../sources/helpers.ts";
import { generic, ingress, signed } from "./fixture.ts";

type Json = Record<string, any>;

const heyflow = source(
  "heyflow",
  { scheme: "token", tokens: ["the-heyflow-token"], header: "x-webhook-token", queryParam: "token" },
  { contentTypes: ["application/json", "application/x-www-form-urlencoded"] },
);
const typeform = source("typeform", { scheme: "typeform", secrets: ["the-typeform-secret"] });
// Everything that can refuse: an allow-list, a rate limit, and runtime (can be disabled).
const guarded = {
  ...generic({ allowedIps: ["10.0.0.0/8"], rateLimitPerSecond: 5 }),
  id: "guarded",
  enabled: true,
};

async function documentOf(app: { handle(r: Request): Promise<Response> }): Promise<Json> {
  const res = await app.handle(new Request("http://ingress/openapi.json"));
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("application/json");
  return (await res.json()) as Json;
}

/** The operation's documented answer for `res`: its status is listed, and its error code among that status's. */
async function expectDocumented(operation: Json, res: Response) {
  const response = operation.responses[String(res.status)];
  expect(response, `status ${res.status} documented`).toBeDefined();
  const body = (await res.json()) as Json;
  if (res.status >= 400) {
    const codes = response.content["application/json"].schema.properties.error.properties.code.enum as string[];
    expect(codes).toContain(body.error.code);
  } else expect(Object.keys(body).sort()).toEqual(["duplicate", "eventId", "received"]);
  return body;
}

describe("ingress /openapi.json", () => {
  const { app } = ingress({ sources: [generic(), heyflow, typeform, guarded] });

  test("an OpenAPI 3.1 document: a path per configured source, the template for others, the health routes", async () => {
    const doc = await documentOf(app);
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        "/v1/webhooks/generic",
        "/v1/webhooks/guarded",
        "/v1/webhooks/heyflow",
        "/v1/webhooks/typeform",
        "/v1/webhooks/{source}",
        "/health/live",
        "/health/ready",
        "/health/detailed",
        "/metrics",
        "/openapi.json",
      ].sort(),
    );
    // Only HeyFlow's type delivers by GET too.
    expect(Object.keys(doc.paths["/v1/webhooks/heyflow"])).toEqual(["post", "get"]);
    expect(Object.keys(doc.paths["/v1/webhooks/typeform"])).toEqual(["post"]);
    // The auth scheme's header names.
    const names = (path: string) => doc.paths[path].post.parameters.map((p: Json) => p.name);
    expect(names("/v1/webhooks/generic")).toEqual(["webhook-id", "webhook-timestamp", "webhook-signature"]);
    expect(names("/v1/webhooks/typeform")).toEqual(["typeform-signature"]);
    expect(names("/v1/webhooks/heyflow")).toEqual(["x-webhook-token", "authorization", "token"]);
    expect(Object.keys(doc.paths["/v1/webhooks/heyflow"].post.requestBody.content)).toEqual(heyflow.contentTypes);
  });

  test("every refusal code is documented, with the status the table gives it, and only where it can happen", async () => {
    const doc = await documentOf(app);
    const documented = new Map<string, string>();
    for (const item of Object.values(doc.paths) as Json[])
      for (const op of Object.values(item) as Json[])
        for (const [status, r] of Object.entries(op.responses as Record<string, Json>))
          for (const code of r.content?.["application/json"]?.schema?.properties?.error?.properties?.code?.enum ?? [])
            documented.set(code, status);
    for (const [code, { status }] of Object.entries(WEBHOOK_REFUSALS)) {
      // 405 is every undocumented method's answer, said in info.description.
      if (code === "method_not_allowed") continue;
      expect(documented.get(code), code).toBe(String(status));
    }
    // A file source without allow-list or rate limit cannot be refused for them.
    const genericPost = doc.paths["/v1/webhooks/generic"].post.responses;
    expect(genericPost[403]).toBeUndefined();
    expect(genericPost[429]).toBeUndefined();
    expect(genericPost[404]).toBeUndefined(); // Typeform disables a hook after a 404
    expect(doc.paths["/v1/webhooks/guarded"].post.responses[429].headers["Retry-After"]).toBeDefined();
  });

  test("no secret or token appears in it", async () => {
    const text = JSON.stringify(await documentOf(app));
    for (const secret of ["the-heyflow-token", "the-typeform-secret", "whsec_", "10.0.0.0"])
      expect(text).not.toContain(secret);
  });

  test("what the real app answers is what the document says", async () => {
    const doc = await documentOf(app);
    const op = (path: string, method = "post") => doc.paths[path][method] as Json;
    const post = (path: string, init: RequestInit) => app.handle(new Request(`http://ingress${path}`, init));

    // Signed: 200, the documented body.
    await expectDocumented(op("/v1/webhooks/generic"), await post("/v1/webhooks/generic", signed('{"a":1}')));
    // Unsigned, wrong token, wrong media type, too large, unparseable.
    const json = { "content-type": "application/json" };
    const cases: [string, RequestInit, number][] = [
      ["/v1/webhooks/generic", { method: "POST", headers: json, body: "{}" }, 401],
      ["/v1/webhooks/typeform", { method: "POST", headers: json, body: "{}" }, 401],
      ["/v1/webhooks/heyflow", { method: "POST", headers: { ...json, "x-webhook-token": "nope" }, body: "{}" }, 401],
      ["/v1/webhooks/generic", { method: "POST", headers: { "content-type": "text/csv" }, body: "a" }, 415],
      [
        "/v1/webhooks/heyflow",
        { method: "POST", headers: { ...json, "x-webhook-token": "the-heyflow-token" }, body: "[1]" },
        400,
      ],
      [
        "/v1/webhooks/generic",
        { method: "POST", headers: { ...json, "content-length": String(2 << 20) }, body: "{}" },
        413,
      ],
    ];
    for (const [path, init, status] of cases) {
      const res = await post(path, init);
      expect(res.status, `${path} ${JSON.stringify(init.headers)}`).toBe(status);
      await expectDocumented(op(path), res);
    }
    // The allow-list refuses an address outside it (app.handle has no peer address).
    const refused = await post("/v1/webhooks/guarded", signed("{}"));
    expect(refused.status).toBe(403);
    await expectDocumented(op("/v1/webhooks/guarded"), refused);
    // A HeyFlow GET with its token in the query string.
    const get = await app.handle(new Request("http://ingress/v1/webhooks/heyflow?token=the-heyflow-token&Vorname=Ada"));
    await expectDocumented(op("/v1/webhooks/heyflow", "get"), get);
    // Any other id: the template's 404.
    const unknown = await post("/v1/webhooks/nope", signed("{}"));
    expect(unknown.status).toBe(404);
    await expectDocumented(op("/v1/webhooks/{source}"), unknown);
  });

  test("the template /v1/webhooks/{source} documents what a configured id sent through it gets (found by schemathesis)", async () => {
    const doc = await documentOf(app);
    const template = doc.paths["/v1/webhooks/{source}"].post as Json;
    const post = (id: string, init: RequestInit) => app.handle(new Request(`http://ingress/v1/webhooks/${id}`, init));
    await expectDocumented(template, await post("guarded", signed("{}")));
    await expectDocumented(template, await post("generic", signed("{}")));
    await expectDocumented(template, await post("typeform", { method: "POST", body: "{}" }));
  });

  test("a source added while the ingress runs (runtime sources) is listed at the next request", async () => {
    const sources = [generic()];
    const running = ingress({ sources });
    expect(Object.keys((await documentOf(running.app)).paths)).not.toContain("/v1/webhooks/late");
    // The fixture's map is the one the handler reads; a runtime source joins it like this.
    running.sources.set("late", { ...generic(), id: "late", enabled: true } as SourceConfig);
    expect(Object.keys((await documentOf(running.app)).paths)).toContain("/v1/webhooks/late");
  });
});
