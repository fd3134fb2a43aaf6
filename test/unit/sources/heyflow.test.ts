import { describe, expect, test } from "bun:test";
import { basicAuthHeader } from "../../../shared/crypto/token.ts";
import { detectHeyflowShape, heyflowAdapter } from "../../../shared/sources/adapters/heyflow.ts";
import { AdapterError } from "../../../shared/sources/types.ts";
import { request, source } from "./helpers.ts";

const auth = {
  scheme: "token" as const,
  tokens: ["tok-current", "tok-next"],
  header: "x-webhook-token",
  basicUser: "heyflow",
  queryParam: "token",
};
const hf = source("heyflow", auth);
const body = { flowID: "f1", id: "r1", createdAt: "2024-01-02T03:04:05Z", fields: { Vorname: "Max" } };

describe("heyflow token auth", () => {
  test("header token, either of two (rotation)", () => {
    expect(heyflowAdapter.authenticate(request(body, { headers: { "x-webhook-token": "tok-current" } }), hf).ok).toBe(
      true,
    );
    expect(heyflowAdapter.authenticate(request(body, { headers: { "x-webhook-token": "tok-next" } }), hf).ok).toBe(
      true,
    );
  });
  test("wrong header token", () => {
    expect(heyflowAdapter.authenticate(request(body, { headers: { "x-webhook-token": "nope" } }), hf)).toMatchObject({
      ok: false,
      code: "invalid_token",
    });
  });
  test("HTTP Basic: password is the token, user must match basicUser", () => {
    expect(
      heyflowAdapter.authenticate(
        request(body, { headers: { authorization: basicAuthHeader("heyflow", "tok-current") } }),
        hf,
      ).ok,
    ).toBe(true);
    expect(
      heyflowAdapter.authenticate(
        request(body, { headers: { authorization: basicAuthHeader("mallory", "tok-current") } }),
        hf,
      ),
    ).toMatchObject({ ok: false, code: "invalid_token" });
    expect(
      heyflowAdapter.authenticate(
        request(body, { headers: { authorization: basicAuthHeader("heyflow", "wrong") } }),
        hf,
      ),
    ).toMatchObject({ ok: false, code: "invalid_token" });
    const anyUser = source("heyflow", { ...auth, basicUser: undefined });
    expect(
      heyflowAdapter.authenticate(
        request(body, { headers: { authorization: basicAuthHeader("whoever", "tok-next") } }),
        anyUser,
      ).ok,
    ).toBe(true);
  });
  test("Bearer token", () => {
    expect(
      heyflowAdapter.authenticate(request(body, { headers: { authorization: "Bearer tok-current" } }), hf).ok,
    ).toBe(true);
  });
  test("query parameter only when configured", () => {
    expect(heyflowAdapter.authenticate(request(body, { query: { token: "tok-current" } }), hf).ok).toBe(true);
    const noQuery = source("heyflow", { ...auth, queryParam: undefined });
    expect(heyflowAdapter.authenticate(request(body, { query: { token: "tok-current" } }), noQuery)).toMatchObject({
      ok: false,
      code: "missing_token",
    });
  });
  test("nothing presented", () => {
    const result = heyflowAdapter.authenticate(request(body), hf);
    expect(result).toMatchObject({ ok: false, code: "missing_token" });
    if (!result.ok) expect(result.message).not.toContain("tok-current");
  });
  test("a signature scheme is refused", () => {
    expect(
      heyflowAdapter.authenticate(request(body), source("heyflow", { scheme: "typeform", secrets: ["s"] })),
    ).toMatchObject({ ok: false, code: "unsupported_auth" });
  });
});

describe("heyflow shapes", () => {
  test("detection", () => {
    expect(detectHeyflowShape({ fields: { a: 1 } })).toBe("object");
    expect(detectHeyflowShape({ fields: [{ label: "a", values: [{ label: "x" }] }] })).toBe("array-values");
    expect(detectHeyflowShape({ fields: [{ label: "a", value: "x" }] })).toBe("array-value");
    expect(detectHeyflowShape({ Vorname: "x" })).toBe("flat");
  });
  test("multi-select stays a list, single choice a string; variable becomes ref", () => {
    const event = heyflowAdapter.parse(
      request({
        flowId: "f",
        id: "r",
        created: "2024-01-01T00:00:00Z",
        fields: [
          {
            label: "Leistungen",
            variable: "services",
            id: "a",
            values: [
              { label: "A", id: "1" },
              { label: "B", id: "2" },
            ],
          },
          { label: "Anrede", variable: "salutation", id: "b", values: [{ label: "Frau", id: "3" }] },
        ],
      }),
      hf,
    );
    expect(event.answers).toEqual([
      { label: "Leistungen", value: ["A", "B"], fieldId: "a", ref: "services" },
      { label: "Anrede", value: "Frau", fieldId: "b", ref: "salutation" },
    ]);
    expect(event.patient.gender).toBe("female");
    expect(event.submittedAt).toBe("2024-01-01T00:00:00.000Z");
  });
  test("form body: the token query parameter and delivery metadata are not answers; repeated keys make a list", () => {
    const req = request("token=tok-current&flowID=f9&id=r9&Vorname=Max&Interessen=A&Interessen=B", {
      query: { token: "tok-current" },
    });
    const event = heyflowAdapter.parse(req, hf);
    expect(event.answers).toEqual([
      { label: "Vorname", value: "Max" },
      { label: "Interessen", value: ["A", "B"] },
    ]);
    expect(event.formId).toBe("f9");
    expect(heyflowAdapter.providerEventId(req, { ok: true })).toBe("r9");
  });
  test("no id → providerEventId null (the ingress hashes the body)", () => {
    expect(heyflowAdapter.providerEventId(request({ fields: { a: "b" } }), { ok: true })).toBeNull();
  });
  test("unparseable bodies raise AdapterError unparseable_body without echoing the body", () => {
    for (const bad of [
      request("{not json", { contentType: "application/json" }),
      request("", { contentType: "application/x-www-form-urlencoded" }),
      request({}),
    ]) {
      let error: unknown;
      try {
        heyflowAdapter.parse(bad, hf);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AdapterError);
      expect((error as AdapterError).code).toBe("unparseable_body");
      expect((error as AdapterError).status).toBe(400);
    }
    expect(() =>
      heyflowAdapter.providerEventId(request("[1,2]", { contentType: "application/json" }), { ok: true }),
    ).toThrow(AdapterError);
  });
});
