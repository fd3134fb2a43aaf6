// decodeMessage cleans what Postgres text cannot hold (U+0000, lone surrogates) from an event,
// and leaves an event that has neither as the adapter made it (the fast path: no copy).
import { describe, expect, test } from "bun:test";
import { decodeMessage } from "../../../services/projector/decode.ts";
import { H } from "../../../shared/nats.ts";
import { source } from "../sources/helpers.ts";

const generic = source("generic", { scheme: "github", secrets: ["s"] });
const sources = new Map([["generic", generic]]);

function message(body: string) {
  const headers = new Map<string, string>([
    [H.eventId, "evt_1"],
    [H.contentType, "application/json"],
    [H.receivedAt, String(Date.parse("2024-06-01T12:00:00Z"))],
  ]);
  return {
    data: new TextEncoder().encode(body),
    seq: 7,
    subject: "webhooks.generic",
    headers: { get: (k: string) => headers.get(k) ?? "" },
  };
}

function decoded(body: string) {
  // The decoder reads only get() of the headers.
  const result = decodeMessage(message(body) as unknown as Parameters<typeof decodeMessage>[0], sources);
  if (!result.ok) throw new Error(result.reason);
  return result.value;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is what it looks for
const hasSuspect = (v: unknown) => /[\u0000\ud800-\udfff]/.test(JSON.stringify(v).replace(/\\u[0-9a-f]{4}/g, ""));

describe("decodeMessage", () => {
  test("an event without NUL or surrogates decodes with its values as sent", () => {
    const d = decoded(JSON.stringify({ id: "e1", data: { email: "a@b.de", first_name: "Ann", Notiz: "hallo" } }));
    expect(d.event.patient).toMatchObject({ email: "a@b.de", firstName: "Ann" });
    expect(d.event.answers.some((a) => a.value === "hallo")).toBe(true);
    expect(d.streamSeq).toBe(7);
  });

  test("NULs are dropped and lone surrogates replaced, in values, labels and the body", () => {
    const body = '{"id":"e2","data":{"email":"a@b.de","first_name":"A\\u0000nn","No\\ud800tiz":"x\\udc00y\\u0000"}}';
    const d = decoded(body);
    expect(d.event.patient.firstName).toBe("Ann");
    const note = d.event.answers.find((a) => a.label.startsWith("No"));
    expect(note?.label).toBe("No\ufffdtiz");
    expect(note?.value).toBe("x\ufffdy");
    expect(hasSuspect(d.event)).toBe(false);
    expect(d.body.includes("\u0000")).toBe(false);
  });

  test("paired surrogates (emoji) survive cleaning", () => {
    const d = decoded(JSON.stringify({ id: "e3", data: { email: "a@b.de", first_name: "Ann", Notiz: "ok 😀\u0000" } }));
    expect(d.event.answers.find((a) => a.value === "ok 😀")).toBeDefined();
  });
});
