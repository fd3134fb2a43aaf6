import { describe, expect, test } from "bun:test";
import { signGithub } from "../../../shared/crypto/github.ts";
import { signStripe } from "../../../shared/crypto/stripe.ts";
import { getAdapter } from "../../../shared/sources/registry.ts";
import { NOW, request, source } from "./helpers.ts";

const generic = getAdapter("generic");
const body = JSON.stringify({ id: "evt_42", data: { email: "A@B.de", first_name: "Ann" } });
const ts = Math.floor(NOW / 1000);

describe("generic with the github scheme", () => {
  const gh = source("generic", { scheme: "github", secrets: ["gh1", "gh2"] });
  test("valid signature over the raw bytes; id from the body", () => {
    const req = request(body, {
      contentType: "application/json",
      headers: { "x-hub-signature-256": signGithub("gh2", body) },
    });
    const auth = generic.authenticate(req, gh);
    expect(auth).toEqual({ ok: true });
    if (auth.ok) expect(generic.providerEventId(req, auth)).toBe("evt_42");
    const event = generic.parse(req, gh);
    expect(event.providerEventId).toBe("evt_42");
    expect(event.patient).toMatchObject({ email: "a@b.de", firstName: "Ann" });
  });
  test("wrong secret, missing header", () => {
    expect(
      generic.authenticate(
        request(body, { contentType: "application/json", headers: { "x-hub-signature-256": signGithub("x", body) } }),
        gh,
      ),
    ).toMatchObject({ ok: false, code: "invalid_signature" });
    expect(generic.authenticate(request(body, { contentType: "application/json" }), gh)).toMatchObject({
      ok: false,
      code: "missing_signature",
    });
  });
  test("no id in the body → null (the ingress hashes the body)", () => {
    const plain = JSON.stringify({ email: "a@b.de" });
    expect(generic.providerEventId(request(plain, { contentType: "application/json" }), { ok: true })).toBeNull();
  });
});

describe("generic with the stripe scheme", () => {
  const st = source("generic", {
    scheme: "stripe",
    secrets: ["sk1"],
    toleranceSeconds: 300,
    header: "stripe-signature",
  });
  const signedReq = (sig: string) =>
    request(body, { contentType: "application/json", headers: { "stripe-signature": sig } });
  test("valid", () => {
    expect(generic.authenticate(signedReq(signStripe("sk1", ts, body)), st)).toEqual({ ok: true });
  });
  test("stale", () => {
    expect(generic.authenticate(signedReq(signStripe("sk1", ts - 3600, body)), st)).toMatchObject({
      ok: false,
      code: "timestamp_out_of_range",
    });
  });
  test("custom header name", () => {
    const custom = source("generic", {
      scheme: "stripe",
      secrets: ["sk1"],
      toleranceSeconds: 300,
      header: "x-signature",
    });
    const req = request(body, {
      contentType: "application/json",
      headers: { "x-signature": signStripe("sk1", ts, body) },
    });
    expect(generic.authenticate(req, custom).ok).toBe(true);
  });
});

describe("generic flat bodies", () => {
  test("delivery metadata keys are not answers", () => {
    const sw = source("generic", { scheme: "standard-webhooks", secrets: ["whsec_AAAA"], toleranceSeconds: 300 });
    const event = generic.parse(request({ id: "x", formId: "f", timestamp: 1717243200, Vorname: "Ute" }), sw);
    expect(event.answers).toEqual([{ label: "Vorname", value: "Ute" }]);
    expect(event.formId).toBe("f");
    expect(event.submittedAt).toBe("2024-06-01T12:00:00.000Z");
  });
});
