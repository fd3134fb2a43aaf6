// Patient data never reaches a log line (issue #7 item 9): every canonical patient field,
// at the top level and nested one level, is redacted by the service logger.
import { expect, test } from "bun:test";
import { createLogger } from "../../shared/logger.ts";
import { CANONICAL_FIELDS } from "../../shared/patient-fields.ts";

// Written out from the canonical record in the design (not derived from the field table), so
// a field the table forgets to mark sensitive, or drops, still fails here. `answers` holds
// every answer under its label.
const DESIGN_PATIENT_KEYS = [
  "firstName",
  "lastName",
  "fullName",
  "email",
  "phone",
  "dateOfBirth",
  "gender",
  "street",
  "postalCode",
  "city",
  "country",
  "consent",
  "answers",
];
const PATIENT_KEYS = [...new Set([...DESIGN_PATIENT_KEYS, ...CANONICAL_FIELDS])];

/** A value per field that could not appear in a log line by chance. */
const sampleValue = (field: string, where: string) => `${where}-${field}-VALUE-7f3a`;

function logged(obj: object): string {
  const lines: string[] = [];
  const log = createLogger("test", "info", { write: (line: string) => void lines.push(line) });
  log.info(obj, "patient written");
  return lines.join("");
}

test("every canonical patient field is redacted, top level and one level down", () => {
  const top = Object.fromEntries(PATIENT_KEYS.map((f) => [f, sampleValue(f, "top")]));
  const nested = Object.fromEntries(PATIENT_KEYS.map((f) => [f, sampleValue(f, "nested")]));
  const output = logged({ ...top, record: nested, marker: "still-logged" });
  expect(output).toContain("still-logged");
  expect(output).toContain("[redacted]");
  const leaked = PATIENT_KEYS.flatMap((f) =>
    ["top", "nested"].filter((where) => output.includes(sampleValue(f, where))).map((where) => `${where}.${f}`),
  );
  expect(leaked).toEqual([]);
});

test("non-string patient values (consent true, a structured answers map) are redacted too", () => {
  const output = logged({
    consent: true,
    answers: { "E-Mail": "x@example.com" },
    event: { consent: false, answers: { PLZ: "10115" } },
  });
  expect(output).not.toContain("x@example.com");
  expect(output).not.toContain("10115");
  expect(output).not.toMatch(/"consent":(true|false)/);
});

test("the other redacted paths stay: secrets, tokens, authorization, bodies, database error details", () => {
  const output = logged({
    secret: "S-1",
    token: "S-2",
    password: "S-3",
    body: "S-4",
    headers: { authorization: "S-5" },
    err: { detail: "S-6" },
    req: { body: "S-7" },
  });
  for (let i = 1; i <= 7; i++) expect(output).not.toContain(`S-${i}`);
});

test("credentials under every name they travel by are redacted: headers, cookies, tokens, URLs, query strings, payloads", () => {
  const headers = {
    authorization: "H-1",
    cookie: "H-2",
    "set-cookie": "H-3",
    "proxy-authorization": "H-4",
    "x-api-key": "H-5",
    "x-webhook-token": "H-6",
    "webhook-signature": "H-7",
    "typeform-signature": "H-8",
    "x-hub-signature": "H-9",
    "x-hub-signature-256": "H-10",
    "stripe-signature": "H-11",
  };
  const output = logged({
    headers,
    req: { headers },
    authorization: "C-1",
    cookie: "C-2",
    apiTokens: "C-3",
    natsUrl: "nats://user:C-4@nats:4222",
    config: { databaseUrl: "postgres://u:C-5@db/x", redisUrl: "redis://:C-6@redis" },
    query: "token=C-7",
    request: { query: { token: "C-8" } },
    payload: "C-9",
    event: { canonical: { note: "C-10" }, rawBody: "C-11" },
    headersKept: { "content-type": "still-logged-type" },
  });
  expect(output).toContain("still-logged-type");
  const leaked = [
    ...Array.from({ length: 11 }, (_, i) => `H-${i + 1}"`),
    ...Array.from({ length: 11 }, (_, i) => `C-${i + 1}`),
  ];
  expect(leaked.filter((s) => output.includes(s))).toEqual([]);
});

test("request_id from the logger's requestId option on every line while set; trace ids only inside an active span", () => {
  let current: string | undefined = "req-42";
  const lines: string[] = [];
  const log = createLogger(
    "test",
    "info",
    { write: (line: string) => void lines.push(line) },
    { requestId: () => current },
  );
  log.info("inside");
  current = undefined;
  log.info("outside");
  const [inside, outside] = lines.map((l) => JSON.parse(l));
  expect(inside).toMatchObject({ request_id: "req-42", msg: "inside" });
  expect(outside.request_id).toBeUndefined();
  // No span is active here (tracing is the API's no-op): no ids rather than empty ones.
  expect([inside.trace_id, inside.span_id]).toEqual([undefined, undefined]);
});
