import { describe, expect, test } from "bun:test";
import { signTypeform } from "../../../shared/crypto/typeform.ts";
import { typeformAdapter, typeformAnswerValue } from "../../../shared/sources/adapters/typeform.ts";
import { AdapterError } from "../../../shared/sources/types.ts";
import { request, source } from "./helpers.ts";

const tf = source("typeform", { scheme: "typeform", secrets: ["old-secret", "new-secret"] });
const payload = {
  event_id: "evt-1",
  form_response: {
    form_id: "F1",
    token: "t1",
    submitted_at: "2024-02-03T04:05:06Z",
    definition: { id: "F1", fields: [{ id: "a", ref: "email_ref", type: "email", title: "E-Mail" }] },
    answers: [{ type: "email", email: "X@Y.de", field: { id: "a", type: "email", ref: "email_ref" } }],
    hidden: { source: "ads" },
    calculated: { score: 3 },
  },
};

describe("typeform auth over raw bytes", () => {
  const req = (sig: string | undefined, body = JSON.stringify(payload)) =>
    request(body, { contentType: "application/json", headers: sig ? { "typeform-signature": sig } : {} });
  test("either secret signs (rotation)", () => {
    const body = JSON.stringify(payload);
    expect(typeformAdapter.authenticate(req(signTypeform("old-secret", body)), tf).ok).toBe(true);
    expect(typeformAdapter.authenticate(req(signTypeform("new-secret", body)), tf).ok).toBe(true);
  });
  test("re-serialised JSON with other whitespace does not verify", () => {
    const body = JSON.stringify(payload);
    expect(
      typeformAdapter.authenticate(req(signTypeform("old-secret", body), JSON.stringify(payload, null, 2)), tf),
    ).toMatchObject({ ok: false, code: "invalid_signature" });
  });
  test("missing header", () => {
    expect(typeformAdapter.authenticate(req(undefined), tf)).toMatchObject({ ok: false, code: "missing_signature" });
  });
});

describe("typeform parse", () => {
  test("fields, hidden and score are answers; ids and times", () => {
    const event = typeformAdapter.parse(request(payload), tf);
    expect(event.formId).toBe("F1");
    expect(event.providerEventId).toBe("evt-1");
    expect(event.submittedAt).toBe("2024-02-03T04:05:06.000Z");
    expect(event.answers).toEqual([
      { label: "E-Mail", value: "X@Y.de", fieldId: "a", ref: "email_ref", fieldType: "email" },
      { label: "source", value: "ads", ref: "source", fieldType: "hidden" },
      { label: "score", value: 3, fieldType: "calculated" },
    ]);
    expect(event.patient.email).toBe("x@y.de");
    expect(event.confidence.email).toBe(0.95);
  });
  test("answer values by type", () => {
    expect(typeformAnswerValue({ type: "choice", choice: { label: "A" } })).toBe("A");
    expect(typeformAnswerValue({ type: "choice", choice: { other: "typed" } })).toBe("typed");
    expect(typeformAnswerValue({ type: "choices", choices: { labels: ["A", "B"], other: "C" } })).toEqual([
      "A",
      "B",
      "C",
    ]);
    expect(typeformAnswerValue({ type: "boolean", boolean: false })).toBe(false);
    expect(typeformAnswerValue({ type: "number", number: 0 })).toBe(0);
    expect(
      typeformAnswerValue({ type: "payment", payment: { amount: "1.00", last4: "4242", name: "N", success: true } }),
    ).toEqual({ amount: "1.00", last4: "4242", name: "N", success: true });
    expect(typeformAnswerValue({ type: "file_url", file_url: "https://x/y.pdf" })).toBe("https://x/y.pdf");
    expect(typeformAnswerValue({ type: "unknown_future_type" })).toBeNull();
  });
  test("a body without form_response is unparseable", () => {
    expect(() => typeformAdapter.parse(request({ event_id: "x" }), tf)).toThrow(AdapterError);
    expect(() => typeformAdapter.parse(request("nope", { contentType: "application/json" }), tf)).toThrow(
      "not valid JSON",
    );
  });
  test("providerEventId: event_id, else the response token, else null", () => {
    expect(typeformAdapter.providerEventId(request(payload), { ok: true })).toBe("evt-1");
    expect(typeformAdapter.providerEventId(request({ form_response: { token: "tok" } }), { ok: true })).toBe("tok");
    expect(typeformAdapter.providerEventId(request({}), { ok: true })).toBeNull();
  });
});
