import { describe, expect, test } from "bun:test";
import { signStandardWebhook } from "../../../shared/crypto/standard-webhooks.ts";
import { googleFormsAdapter, parseGoogleForms } from "../../../shared/sources/adapters/google-forms.ts";
import { AdapterError } from "../../../shared/sources/types.ts";
import { NOW, request, source } from "./helpers.ts";

const secret = "whsec_aG9va2xpbmUtZGV2LXNlY3JldC0zMi1ieXRlcy1vayE=";
const gf = source("google-forms", { scheme: "standard-webhooks", secrets: [secret], toleranceSeconds: 300 });
const answersBody = {
  formId: "F",
  responseId: "R1",
  timestamp: "2024-01-01T10:00:00Z",
  answers: [
    { title: "E-Mail", response: "a@b.de" },
    { title: "Hobbies", response: ["x", "y"] },
  ],
};

describe("google-forms shapes", () => {
  test("answers shape", () => {
    const parsed = parseGoogleForms(request(answersBody));
    expect(parsed.shape).toBe("answers");
    expect(parsed.answers).toEqual([
      { label: "E-Mail", value: "a@b.de" },
      { label: "Hobbies", value: ["x", "y"] },
    ]);
    expect(parsed.responseId).toBe("R1");
  });
  test("namedValues, bare and wrapped; single-item arrays unwrap; sheet timestamp is not an answer", () => {
    const bare = parseGoogleForms(
      request({ Timestamp: ["3/15/2024 10:22:11"], "E-Mail": ["a@b.de"], Multi: ["x, y"] }),
      "MDY",
    );
    expect(bare.shape).toBe("namedValues");
    expect(bare.answers).toEqual([
      { label: "E-Mail", value: "a@b.de" },
      { label: "Multi", value: "x, y" },
    ]);
    expect(bare.timestamp).toBe("2024-03-15T10:22:11Z");
    const wrapped = parseGoogleForms(request({ formId: "F2", namedValues: { "E-Mail": ["a@b.de"] } }));
    expect(wrapped.formId).toBe("F2");
    expect(wrapped.answers).toEqual([{ label: "E-Mail", value: "a@b.de" }]);
  });
  test("form-encoded: flat, payload JSON, answers JSON", () => {
    expect(parseGoogleForms(request("formId=F&E-Mail=a%40b.de")).answers).toEqual([
      { label: "E-Mail", value: "a@b.de" },
    ]);
    const viaPayload = parseGoogleForms(request(`payload=${encodeURIComponent(JSON.stringify(answersBody))}`));
    expect(viaPayload.shape).toBe("answers");
    expect(viaPayload.formId).toBe("F");
    const viaAnswers = parseGoogleForms(
      request(`formId=F3&answers=${encodeURIComponent(JSON.stringify(answersBody.answers))}`),
    );
    expect(viaAnswers.formId).toBe("F3");
    expect(viaAnswers.answers).toHaveLength(2);
  });
  test("an object payload form-encoded without JSON.stringify gets a helpful error", () => {
    expect(() => parseGoogleForms(request("formId=F&answers=%5Bobject+Object%5D%2C%5Bobject+Object%5D"))).toThrow(
      "JSON.stringify",
    );
  });
  test("empty payload is unparseable", () => {
    expect(() => parseGoogleForms(request({ formId: "F" }))).toThrow(AdapterError);
  });
});

describe("google-forms auth and ids", () => {
  const body = JSON.stringify(answersBody);
  const ts = Math.floor(NOW / 1000);
  const signed = request(body, {
    contentType: "application/json",
    headers: {
      "webhook-id": "msg_9",
      "webhook-timestamp": String(ts),
      "webhook-signature": signStandardWebhook(secret, "msg_9", ts, body),
    },
  });
  test("standard webhooks, id from webhook-id", () => {
    const auth = googleFormsAdapter.authenticate(signed, gf);
    expect(auth).toEqual({ ok: true, eventId: "msg_9" });
    if (auth.ok) expect(googleFormsAdapter.providerEventId(signed, auth)).toBe("msg_9");
    expect(googleFormsAdapter.parse(signed, gf).providerEventId).toBe("msg_9");
  });
  test("without webhook-id the responseId is the event id", () => {
    expect(googleFormsAdapter.providerEventId(request(answersBody), { ok: true })).toBe("R1");
  });
  test("unsigned is rejected", () => {
    expect(googleFormsAdapter.authenticate(request(body, { contentType: "application/json" }), gf)).toMatchObject({
      ok: false,
      code: "missing_signature",
    });
  });
});
