// Realistic, unique webhooks for each dev source. Every request carries a unique provider
// id and a unique email, so nothing is deduplicated and the e2e suite can find each row.
// Signed with the shared crypto helpers and the public dev secrets (ops/dev/sources.yaml).
import { signStandardWebhook } from "../../shared/crypto/standard-webhooks.ts";
import { signTypeform } from "../../shared/crypto/typeform.ts";
import { DEV_CREDENTIALS } from "../../shared/dev-credentials.ts";

export const BENCH_SOURCES = ["heyflow", "typeform", "google-forms", "generic"] as const;
export type BenchSource = (typeof BENCH_SOURCES)[number];

export interface BenchRequest {
  source: BenchSource;
  /** Provider id, unique per request; also the ceiling's Nats-Msg-Id. */
  id: string;
  email: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

const FIRST = ["Ada", "Grace", "Jonas", "Lena", "Mehmet", "Sofia", "Lukas", "Mia", "Noah", "Emma"];
const LAST = ["Lovelace", "Hopper", "Schmidt", "Müller", "Yilmaz", "Rossi", "Becker", "Wagner", "Fischer", "Weber"];
const CITY: [string, string][] = [
  ["10115", "Berlin"],
  ["20095", "Hamburg"],
  ["80331", "München"],
  ["50667", "Köln"],
];
const encoder = new TextEncoder();

function person(n: number, tag: string) {
  const first = FIRST[n % FIRST.length]!;
  const last = LAST[Math.floor(n / FIRST.length) % LAST.length]!;
  const [zip, city] = CITY[n % CITY.length]!;
  const email = `bench.${tag}.${n}@example.com`;
  const phone = `+49151${String(1_000_000 + (n % 9_000_000)).padStart(8, "0")}`;
  const dob = `${String(1 + (n % 28)).padStart(2, "0")}.${String(1 + (n % 12)).padStart(2, "0")}.${1950 + (n % 50)}`;
  return { first, last, email, phone, zip, city, dob };
}

function heyflowBody(n: number, tag: string, id: string, iso: string) {
  const p = person(n, tag);
  return {
    flowID: "bench-anfrage",
    id,
    createdAt: iso,
    fields: {
      Vorname: p.first,
      Nachname: p.last,
      "E-Mail": p.email,
      Telefon: p.phone,
      Geburtsdatum: p.dob,
      PLZ: p.zip,
      Stadt: p.city,
      Einwilligung: "Ja",
    },
  };
}

const TF_FIELDS = [
  { id: "fn01", ref: "first_name", title: "What is your first name?", type: "short_text" },
  { id: "ln01", ref: "last_name", title: "And your last name?", type: "short_text" },
  { id: "em01", ref: "email", title: "Your email address", type: "email" },
  { id: "ph01", ref: "phone", title: "Phone number", type: "phone_number" },
  { id: "zp01", ref: "zip", title: "Zip code", type: "short_text" },
  { id: "cn01", ref: "consent", title: "Do you agree to be contacted?", type: "yes_no" },
];

function typeformBody(n: number, tag: string, id: string, iso: string) {
  const p = person(n, tag);
  const f = (i: number) => ({ id: TF_FIELDS[i]!.id, type: TF_FIELDS[i]!.type, ref: TF_FIELDS[i]!.ref });
  return {
    event_id: id,
    event_type: "form_response",
    form_response: {
      form_id: "BenchTF1",
      token: `tok-${id}`,
      landed_at: iso,
      submitted_at: iso,
      definition: { id: "BenchTF1", title: "Patient intake", fields: TF_FIELDS },
      answers: [
        { type: "text", text: p.first, field: f(0) },
        { type: "text", text: p.last, field: f(1) },
        { type: "email", email: p.email, field: f(2) },
        { type: "phone_number", phone_number: p.phone, field: f(3) },
        { type: "text", text: p.zip, field: f(4) },
        { type: "boolean", boolean: true, field: f(5) },
      ],
    },
  };
}

function googleFormsBody(n: number, tag: string, id: string, iso: string) {
  const p = person(n, tag);
  return {
    formId: "1FAIpQLSbench",
    responseId: id,
    timestamp: iso,
    answers: [
      { id: "q1", title: "First name", type: "TEXT", response: p.first },
      { id: "q2", title: "Last name", type: "TEXT", response: p.last },
      { id: "q3", title: "Email address", type: "TEXT", response: p.email },
      { id: "q4", title: "Phone number", type: "TEXT", response: p.phone },
      { id: "q5", title: "City", type: "TEXT", response: p.city },
    ],
  };
}

function genericBody(n: number, tag: string, _id: string, iso: string) {
  const p = person(n, tag);
  return {
    type: "form.submitted",
    timestamp: iso,
    data: {
      formId: "bench-generic",
      "First name": p.first,
      "Last name": p.last,
      Email: p.email,
      Phone: p.phone,
      "Zip code": p.zip,
      City: p.city,
    },
  };
}

const BODIES = { heyflow: heyflowBody, typeform: typeformBody, "google-forms": googleFormsBody, generic: genericBody };

/**
 * Request `n` of a pool tagged `tag` (tags keep pools of one run disjoint). Sources rotate
 * so every pool is a 1:1:1:1 mix. `nowMs` is the signing time (±5 min tolerance).
 */
export function makeRequest(tag: string, n: number, nowMs: number, only?: BenchSource): BenchRequest {
  const source = only ?? BENCH_SOURCES[n % BENCH_SOURCES.length]!;
  const id = `msg_${tag}_${n}`;
  const iso = new Date(nowMs).toISOString();
  const text = JSON.stringify(BODIES[source](n, tag, id, iso));
  const body = encoder.encode(text);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (source === "heyflow") headers["x-webhook-token"] = DEV_CREDENTIALS.heyflowToken;
  else if (source === "typeform") headers["typeform-signature"] = signTypeform(DEV_CREDENTIALS.typeformSecret, body);
  else {
    const ts = Math.floor(nowMs / 1000);
    headers["webhook-id"] = id;
    headers["webhook-timestamp"] = String(ts);
    headers["webhook-signature"] = signStandardWebhook(DEV_CREDENTIALS.standardWebhooksSecret, id, ts, body);
  }
  return { source, id, email: person(n, tag).email, headers, body };
}

/** The request as raw HTTP/1.1 bytes, what wrk sends verbatim. */
export function rawHttp(req: BenchRequest): Uint8Array {
  let head = `POST /v1/webhooks/${req.source} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${req.body.byteLength}\r\n`;
  for (const [k, v] of Object.entries(req.headers)) head += `${k}: ${v}\r\n`;
  const headBytes = encoder.encode(`${head}\r\n`);
  const out = new Uint8Array(headBytes.byteLength + req.body.byteLength);
  out.set(headBytes, 0);
  out.set(req.body, headBytes.byteLength);
  return out;
}
