// A corpus of hostile requests (issue #10) against the running ingress and dashboard: bad
// JSON, deep nesting, huge headers, a slow body, SQL and HTML injection strings, wrong
// content types, invalid UTF-8, malformed URLs and framing. Every answer is a 4xx, or a 2xx
// where the input is valid (an injection string in a field is just data: it is stored
// verbatim and returned JSON-escaped); never a 5xx (but Bun's own 505 to a request line
// without a version, pinned below), and every service is ready afterwards.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { signStandardWebhook } from "../../shared/crypto/standard-webhooks.ts";
import { DEV_CREDENTIALS } from "../../shared/dev-credentials.ts";
import { ADMIN, type Cluster, startCluster, waitFor } from "./harness.ts";

let cluster: Cluster;
const ingress = () => cluster.services.ingress!.url;
const dashboard = () => cluster.services.dashboard!.url;

beforeAll(async () => {
  cluster = await startCluster(["ingress", "projector", "dashboard"]);
});

afterAll(() => cluster?.stop());

type Outcome = number | "closed";

/** Standard Webhooks headers over exactly these bytes (which need not be UTF-8 or JSON). */
function signed(body: string | Uint8Array<ArrayBuffer>, id: string, contentType = "application/json"): RequestInit {
  const ts = Math.floor(Date.now() / 1000);
  return {
    method: "POST",
    body,
    headers: {
      "content-type": contentType,
      "webhook-id": id,
      "webhook-timestamp": String(ts),
      "webhook-signature": signStandardWebhook(DEV_CREDENTIALS.standardWebhooksSecret, id, ts, body),
    },
  };
}

/** The status of an answer (its body read, so that the connection is reused), or "closed" if there was none. */
async function statusOf(url: string, init: RequestInit = {}): Promise<Outcome> {
  try {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    return res.status;
  } catch {
    return "closed";
  }
}

/** Raw bytes on a fresh connection: the answer's status, or "closed" when the server hung up without one. */
function raw(base: string, bytes: string | Uint8Array): Promise<Outcome> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    let head = "";
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    const done = (outcome: Outcome) => {
      socket.destroy();
      resolve(outcome);
    };
    socket.on("data", (chunk) => {
      head += chunk.toString("latin1");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (m) done(Number(m[1]));
    });
    socket.on("error", () => done("closed"));
    socket.on("close", () => done("closed"));
    socket.setTimeout(15_000, () => done("closed"));
  });
}

const webhook = (source = "generic") => `${ingress()}/v1/webhooks/${source}`;
const api = (path: string) => `${dashboard()}${path}`;
const asAdmin = (init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...ADMIN, ...(init.headers as Record<string, string>) },
});

/** Sends every case; returns the ones whose outcome is not allowed (no predicate allows a 5xx but one, pinned). */
async function run(cases: [name: string, send: () => Promise<Outcome>, allowed?: (o: Outcome) => boolean][]) {
  const wrong: string[] = [];
  for (const [name, send, allowed = is4xx] of cases) {
    const outcome = await send();
    if (!allowed(outcome)) wrong.push(`${name}: ${outcome}`);
  }
  return wrong;
}
const is4xx = (o: Outcome) => typeof o === "number" && o >= 400 && o < 500;
const is2xxOr4xx = (o: Outcome) => typeof o === "number" && o >= 200 && o < 500 && (o < 300 || o >= 400);
/** The HTTP parser may refuse malformed framing by hanging up instead of answering. */
const refusedOrClosed = (o: Outcome) => o === "closed" || is4xx(o);

const deepArrays = (depth: number) => `{"data":{"x":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
const deepObjects = (depth: number) => `{"data":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;
const INVALID_UTF8 = new Uint8Array([0x7b, 0x22, 0x64, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0xfe, 0x22, 0x7d]); // {"d":"\xc3(\xff\xfe"}

test("ingress: malformed bodies, wrong types, deep nesting, invalid UTF-8 get 4xx (or 2xx when valid), never 5xx", async () => {
  let n = 0;
  const id = () => `msg_hostile_${n++}`;
  const wrong = await run([
    ["truncated JSON", () => statusOf(webhook(), signed('{"data":', id()))],
    ["trailing comma", () => statusOf(webhook(), signed('{"data":{"a":1,}}', id()))],
    ["NaN", () => statusOf(webhook(), signed("NaN", id()))],
    ["JSON array, not object", () => statusOf(webhook(), signed("[1,2,3]", id()))],
    ["JSON string", () => statusOf(webhook(), signed('"hello"', id()))],
    ["empty body", () => statusOf(webhook(), signed("", id()))],
    ["NUL bytes", () => statusOf(webhook(), signed("\0\0\0\0", id()))],
    ["invalid UTF-8", () => statusOf(webhook(), signed(INVALID_UTF8, id()))],
    ["lone surrogate escape", () => statusOf(webhook(), signed('{"data":{"a":"\\ud800"}}', id())), is2xxOr4xx],
    ["\\u0000 in a value", () => statusOf(webhook(), signed('{"data":{"a":"x\\u0000y"}}', id())), is2xxOr4xx],
    ["huge number", () => statusOf(webhook(), signed('{"data":{"a":1e999999}}', id())), is2xxOr4xx],
    [
      "__proto__ keys",
      () => statusOf(webhook(), signed('{"__proto__":{"x":1},"data":{"__proto__":{"admin":true}}}', id())),
      is2xxOr4xx,
    ],
    ["100k nested arrays", () => statusOf(webhook(), signed(deepArrays(100_000), id())), is2xxOr4xx],
    ["100k nested objects", () => statusOf(webhook(), signed(deepObjects(100_000), id())), is2xxOr4xx],
    [
      "100k nested arrays, unsigned",
      () =>
        statusOf(webhook(), {
          method: "POST",
          body: deepArrays(100_000),
          headers: { "content-type": "application/json" },
        }),
    ],
    ["text/plain", () => statusOf(webhook(), signed("{}", id(), "text/plain"))],
    ["application/xml", () => statusOf(webhook(), signed("<a>1</a>", id(), "application/xml"))],
    ["multipart", () => statusOf(webhook(), signed("--x\r\n\r\n--x--", id(), "multipart/form-data; boundary=x"))],
    [
      "no content type",
      () =>
        statusOf(webhook(), {
          ...signed("{}", id()),
          headers: { ...(signed("{}", "x").headers as object), "content-type": "" },
        }),
    ],
    ["garbage content type", () => statusOf(webhook(), signed("{}", id(), ";;;\u00e9=\u00e9"))],
    ["form body on a JSON source", () => statusOf(webhook(), signed("a=1&b=2", id()))],
    [
      "heyflow: bad JSON with its token",
      () =>
        statusOf(webhook("heyflow"), {
          method: "POST",
          body: "{",
          headers: { "content-type": "application/json", "x-webhook-token": DEV_CREDENTIALS.heyflowToken },
        }),
    ],
    [
      "typeform: deep nesting, bad signature",
      () =>
        statusOf(webhook("typeform"), {
          method: "POST",
          body: deepObjects(50_000),
          headers: { "content-type": "application/json", "typeform-signature": "sha256=AAAA" },
        }),
    ],
    [
      "declared too large",
      () =>
        statusOf(webhook(), {
          method: "POST",
          body: "x".repeat(2 << 20),
          headers: { "content-type": "application/json" },
        }),
    ],
    [
      "forged signature",
      () =>
        statusOf(webhook(), {
          ...signed("{}", id()),
          headers: {
            "content-type": "application/json",
            "webhook-id": "x",
            "webhook-timestamp": "1",
            "webhook-signature": "v1,AAAA",
          },
        }),
    ],
  ]);
  expect(wrong).toEqual([]);
});

test("ingress: hostile URLs, headers and framing get 4xx or a hang-up, never 5xx", async () => {
  const base = ingress();
  const host = new URL(base).host;
  const wrong = await run([
    ["bad percent-encoding in the source", () => statusOf(`${base}/v1/webhooks/%E0%A4%A`, signed("{}", "u1"))],
    ["lone percent", () => statusOf(`${base}/v1/webhooks/%`, signed("{}", "u2"))],
    ["NUL in the source", () => statusOf(`${base}/v1/webhooks/gen%00eric`, signed("{}", "u3"))],
    [
      "SQL in the source",
      () => statusOf(`${base}/v1/webhooks/${encodeURIComponent("generic' OR '1'='1")}`, signed("{}", "u4")),
    ],
    [
      "HTML in the source",
      () => statusOf(`${base}/v1/webhooks/${encodeURIComponent("<script>alert(1)</script>")}`, signed("{}", "u5")),
    ],
    [
      "bad percent-encoding in the query",
      () => statusOf(`${base}/v1/webhooks/generic?a=%E0%A4%A&b=%`, signed('{"data":{}}', "u6")),
      is2xxOr4xx,
    ],
    [
      "100 KB query",
      () => statusOf(`${base}/v1/webhooks/generic?q=${"a".repeat(100_000)}`, signed('{"data":{}}', "u7")),
      refusedOrClosed,
    ],
    [
      "100 KB header",
      () =>
        statusOf(webhook(), {
          ...signed("{}", "u8"),
          headers: { ...(signed("{}", "u8").headers as object), "x-pad": "a".repeat(100_000) },
        }),
      refusedOrClosed,
    ],
    [
      "2,000 headers",
      () =>
        statusOf(webhook(), {
          ...signed("{}", "u9"),
          headers: {
            ...(signed("{}", "u9").headers as object),
            ...Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`x-h${i}`, "v"])),
          },
        }),
      refusedOrClosed,
    ],
    [
      "invalid UTF-8 in a header",
      () =>
        raw(
          base,
          Buffer.concat([
            Buffer.from(
              `POST /v1/webhooks/generic HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nX-Bad: `,
            ),
            Buffer.from([0xc3, 0x28, 0xff]),
            Buffer.from("\r\nContent-Length: 2\r\n\r\n{}"),
          ]),
        ),
      refusedOrClosed,
    ],
    [
      "bad Content-Length",
      () =>
        raw(
          base,
          `POST /v1/webhooks/generic HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`,
        ),
      refusedOrClosed,
    ],
    [
      "Content-Length and chunked",
      () =>
        raw(
          base,
          `POST /v1/webhooks/generic HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
        ),
      refusedOrClosed,
    ],
    [
      "bad chunk size",
      () =>
        raw(
          base,
          `POST /v1/webhooks/generic HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
        ),
      refusedOrClosed,
    ],
    ["garbage request line", () => raw(base, "GARBAGE\r\n\r\n"), refusedOrClosed],
    // Bun's HTTP parser answers a request line without a version "505 HTTP Version Not
    // Supported" (RFC 9110 15.6.6) before any hookline code runs: pinned, the one 5xx allowed.
    ["HTTP/0.9-style", () => raw(base, "GET /\r\n\r\n"), (o) => o === 505 || refusedOrClosed(o)],
  ]);
  expect(wrong).toEqual([]);
});

test("ingress: a slow body within the test's limits is received whole", async () => {
  const text = JSON.stringify({ data: { Email: "slow.body@example.com", note: "slow" } });
  const init = signed(text, "msg_slow_body");
  const bytes = new TextEncoder().encode(text);
  const pieces = 5;
  const size = Math.ceil(bytes.byteLength / pieces);
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i >= pieces) return controller.close();
      if (i > 0) await Bun.sleep(300);
      controller.enqueue(bytes.slice(i * size, (i + 1) * size));
      i++;
    },
  });
  const res = await fetch(webhook(), { ...init, body, duplex: "half" } as RequestInit);
  expect(res.status).toBe(200);
});

// Injection strings are data: accepted, stored as sent, and returned as JSON strings.
const INJECTIONS = {
  "First name": "Robert'); DROP TABLE patients;--",
  "Last name": "<script>alert(1)</script>",
  City: "' OR '1'='1",
  Notes: '"><img src=x onerror=alert(document.cookie)>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally.
  Comment: "1; SELECT pg_sleep(10); -- \\ ' \" ` $1 ${x} {{x}}",
} as const;

test("injection strings in fields are stored verbatim and returned JSON-escaped by the dashboard", async () => {
  const email = "injection.probe@example.com";
  const text = JSON.stringify({ type: "form.submitted", data: { ...INJECTIONS, Email: email } });
  const res = await fetch(webhook(), signed(text, "msg_injection"));
  expect(res.status).toBe(200);
  const found = await waitFor("the patient", async () => {
    const r = await fetch(api(`/api/v1/patients?q=${encodeURIComponent(email)}`), asAdmin());
    const items = ((await r.json()) as { items: Record<string, any>[] }).items;
    return items[0];
  });
  const detail = await fetch(api(`/api/v1/patients/${found.id}`), asAdmin());
  expect(detail.status).toBe(200);
  expect(detail.headers.get("content-type")).toStartWith("application/json");
  const textBody = await detail.text();
  // Valid JSON whose values are the strings sent, character for character.
  const patient = JSON.parse(textBody) as Record<string, any>;
  for (const [label, value] of Object.entries(INJECTIONS)) expect(patient.answers[label]).toBe(value);
  expect(patient.lastName).toBe(INJECTIONS["Last name"]);
  // The double quotes inside values are escaped, so no value can break out of its JSON string.
  expect(textBody).toContain(JSON.stringify(INJECTIONS.Notes));
  // The SQL did nothing: the table is still there and the search did not widen.
  const all = await fetch(api(`/api/v1/patients?q=${encodeURIComponent(INJECTIONS.City)}`), asAdmin());
  expect(all.status).toBe(200);
  expect(((await all.json()) as { items: unknown[] }).items.length).toBeLessThanOrEqual(1);
});

test("dashboard: injection, malformed parameters, bodies and headers get 2xx or 4xx, never 5xx", async () => {
  const base = dashboard();
  const host = new URL(base).host;
  const q = (s: string) => api(`/api/v1/patients?q=${encodeURIComponent(s)}`);
  const resolve = (body: string | Uint8Array<ArrayBuffer>, contentType = "application/json") =>
    statusOf(
      api("/api/v1/conflicts/1/resolve"),
      asAdmin({ method: "POST", body, headers: { "content-type": contentType } }),
    );
  const preview = (body: string | Uint8Array<ArrayBuffer>, contentType = "application/json") =>
    statusOf(
      api("/v1/sources/generic/preview"),
      asAdmin({ method: "POST", body, headers: { "content-type": contentType } }),
    );
  const wrong = await run([
    ["q: SQL", () => statusOf(q("' OR '1'='1' --"), asAdmin()), is2xxOr4xx],
    ["q: SQL with @", () => statusOf(q("x@y' OR 1=1; DROP TABLE patients; --"), asAdmin()), is2xxOr4xx],
    ["q: LIKE wildcards", () => statusOf(q("%_%\\"), asAdmin()), is2xxOr4xx],
    ["q: HTML", () => statusOf(q("<script>alert(1)</script>"), asAdmin()), is2xxOr4xx],
    ["q: NUL", () => statusOf(q("a\0b"), asAdmin()), is2xxOr4xx],
    ["q: invalid UTF-8 escape", () => statusOf(api("/api/v1/patients?q=%C3%28%FF"), asAdmin()), is2xxOr4xx],
    ["q: bad percent-encoding", () => statusOf(api("/api/v1/patients?q=%E0%A4%A"), asAdmin()), is2xxOr4xx],
    ["q: 50 KB", () => statusOf(q("a".repeat(50_000)), asAdmin()), (o) => refusedOrClosed(o) || is2xxOr4xx(o)],
    ["source: NUL", () => statusOf(api("/api/v1/patients?source=%00"), asAdmin()), is2xxOr4xx],
    ["limit: text", () => statusOf(api("/api/v1/patients?limit=abc"), asAdmin())],
    ["limit: negative", () => statusOf(api("/api/v1/patients?limit=-1"), asAdmin())],
    ["limit: huge", () => statusOf(api("/api/v1/patients?limit=1e999"), asAdmin())],
    ["cursor: garbage", () => statusOf(api("/api/v1/patients?cursor=!!!"), asAdmin())],
    [
      "cursor: SQL",
      () =>
        statusOf(
          api(`/api/v1/patients?cursor=${Buffer.from(JSON.stringify({ id: "1 or 1=1" })).toString("base64url")}`),
          asAdmin(),
        ),
    ],
    [
      "cursor: deep nesting",
      () =>
        statusOf(api(`/api/v1/patients?cursor=${Buffer.from("[".repeat(20_000)).toString("base64url")}`), asAdmin()),
      (o) => refusedOrClosed(o),
    ],
    [
      "events cursor: huge time",
      () =>
        statusOf(
          api(
            `/api/v1/events?cursor=${Buffer.from(JSON.stringify({ receivedAt: 1e300, eventId: "x" })).toString("base64url")}`,
          ),
          asAdmin(),
        ),
    ],
    ["events source: NUL", () => statusOf(api("/api/v1/events?source=a%00b"), asAdmin()), is2xxOr4xx],
    ["patient id: SQL", () => statusOf(api(`/api/v1/patients/${encodeURIComponent("1 OR 1=1")}`), asAdmin())],
    ["patient id: past bigint", () => statusOf(api("/api/v1/patients/99999999999999999999999999"), asAdmin())],
    ["patient id: bad percent-encoding", () => statusOf(api("/api/v1/patients/%E0%A4%A"), asAdmin())],
    [
      "patient conflicts id: SQL",
      () => statusOf(api(`/api/v1/patients/${encodeURIComponent("1;--")}/conflicts`), asAdmin()),
    ],
    ["form: NUL", () => statusOf(api("/api/v1/forms/a%00/b%00/questions"), asAdmin())],
    [
      "form: HTML",
      () =>
        statusOf(
          api(`/api/v1/forms/${encodeURIComponent("<b>")}/${encodeURIComponent("' or 1=1")}/questions`),
          asAdmin(),
        ),
    ],
    [
      "form submissions: NUL question",
      () => statusOf(api("/api/v1/forms/a/b/submissions?question=%00"), asAdmin()),
      is2xxOr4xx,
    ],
    ["resolve: bad JSON", () => resolve('{"action":')],
    ["resolve: 100k nested arrays", () => resolve(deepArrays(100_000))],
    ["resolve: 100k nested objects", () => resolve(deepObjects(100_000))],
    ["resolve: invalid UTF-8", () => resolve(INVALID_UTF8)],
    ["resolve: HTML action", () => resolve('{"action":"<script>alert(1)</script>"}')],
    [
      "resolve: SQL id",
      () =>
        statusOf(
          api(`/api/v1/conflicts/${encodeURIComponent("1' OR '1'='1")}/resolve`),
          asAdmin({ method: "POST", body: '{"action":"accept"}', headers: { "content-type": "application/json" } }),
        ),
    ],
    [
      "resolve: past bigint",
      () =>
        statusOf(
          api("/api/v1/conflicts/99999999999999999999999999/resolve"),
          asAdmin({ method: "POST", body: '{"action":"accept"}', headers: { "content-type": "application/json" } }),
        ),
    ],
    ["resolve: text/plain", () => resolve("accept", "text/plain")],
    ["resolve: form body", () => resolve("action=accept", "application/x-www-form-urlencoded"), is2xxOr4xx],
    ["resolve: multipart garbage", () => resolve("--x\r\n\r\n", "multipart/form-data; boundary=x")],
    ["resolve: garbage content type", () => resolve("{}", ";;;")],
    ["preview: bad JSON", () => preview("{")],
    ["preview: 100k nested arrays", () => preview(deepArrays(100_000)), is2xxOr4xx],
    ["preview: 100k nested objects", () => preview(deepObjects(100_000)), is2xxOr4xx],
    ["preview: invalid UTF-8", () => preview(INVALID_UTF8)],
    [
      "preview: unknown source with SQL",
      () =>
        statusOf(
          api(`/v1/sources/${encodeURIComponent("x' OR 1=1")}/preview`),
          asAdmin({ method: "POST", body: "{}" }),
        ),
    ],
    ["token: SQL", () => statusOf(api("/api/v1/patients"), { headers: { authorization: "Bearer ' OR '1'='1" } })],
    [
      "token: 100 KB",
      () => statusOf(api("/api/v1/patients"), { headers: { authorization: `Bearer ${"a".repeat(100_000)}` } }),
      refusedOrClosed,
    ],
    [
      "token: not bearer",
      () => statusOf(api("/api/v1/patients"), { headers: { authorization: "Basic Zm9vOmJhcg==" } }),
    ],
    [
      "2,000 headers",
      () =>
        statusOf(
          api("/api/v1/patients"),
          asAdmin({ headers: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`x-h${i}`, "v"])) }),
        ),
      refusedOrClosed,
    ],
    ["unknown route with HTML", () => statusOf(api(`/${encodeURIComponent("<script>alert(1)</script>")}`), asAdmin())],
    ["bad percent-encoding in a path", () => statusOf(api("/api/v1/%E0%A4%A"), asAdmin())],
    [
      "invalid UTF-8 in a header",
      () =>
        raw(
          base,
          Buffer.concat([
            Buffer.from(`GET /api/v1/patients HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer `),
            Buffer.from([0xc3, 0x28, 0xff]),
            Buffer.from("\r\n\r\n"),
          ]),
        ),
      refusedOrClosed,
    ],
    ["garbage request line", () => raw(base, "GARBAGE\r\n\r\n"), refusedOrClosed],
  ]);
  expect(wrong).toEqual([]);
});

test("every service is still up and ready afterwards", async () => {
  for (const name of ["ingress", "projector", "dashboard"] as const) {
    const service = cluster.services[name]!;
    expect(service.proc.exitCode).toBeNull();
    await waitFor(`${name} ready`, async () => (await fetch(`${service.url}/health/ready`)).status === 200, 10_000);
  }
  // And still working: a fresh webhook goes all the way through.
  const email = "after.hostile@example.com";
  expect((await fetch(webhook(), signed(JSON.stringify({ data: { Email: email } }), "msg_after_hostile"))).status).toBe(
    200,
  );
  await waitFor("the last patient", async () => {
    const r = await fetch(api(`/api/v1/patients?q=${encodeURIComponent(email)}`), asAdmin());
    return ((await r.json()) as { items: unknown[] }).items.length === 1;
  });
});
