// Signature vectors for every scheme: valid, wrong secret, tampered body, rotation (second
// secret), several signatures with one valid, missing/malformed header, and the timestamp
// window where the scheme signs one.
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { signGithub, verifyGithub } from "../../../shared/crypto/github.ts";
import { signStandardWebhook, verifyStandardWebhook } from "../../../shared/crypto/standard-webhooks.ts";
import { signStripe, verifyStripe } from "../../../shared/crypto/stripe.ts";
import { basicAuthHeader, parseBasicAuth, tokenMatches } from "../../../shared/crypto/token.ts";
import { signTypeform, verifyTypeform } from "../../../shared/crypto/typeform.ts";

const body = new TextEncoder().encode('{"event_id":"01H","form_response":{"answers":[]}}');
const tampered = new TextEncoder().encode('{"event_id":"01H","form_response":{"answers":[1]}}');
const NOW = 1_718_000_000_000;
const T = NOW / 1000;

describe("typeform", () => {
  test("known vector: sha256=<base64 HMAC-SHA256(secret, body)>", () => {
    const expected = `sha256=${createHmac("sha256", "dev-typeform-secret").update(body).digest("base64")}`;
    expect(signTypeform("dev-typeform-secret", body)).toBe(expected);
  });
  test("valid signature", () => {
    expect(verifyTypeform(signTypeform("s1", body), body, ["s1"])).toEqual({ ok: true });
  });
  test("wrong secret", () => {
    expect(verifyTypeform(signTypeform("other", body), body, ["s1"])).toMatchObject({
      ok: false,
      code: "invalid_signature",
    });
  });
  test("tampered body", () => {
    expect(verifyTypeform(signTypeform("s1", body), tampered, ["s1"])).toMatchObject({
      ok: false,
      code: "invalid_signature",
    });
  });
  test("second secret during rotation", () => {
    expect(verifyTypeform(signTypeform("next", body), body, ["current", "next"]).ok).toBe(true);
  });
  test("missing header", () => {
    expect(verifyTypeform(undefined, body, ["s1"])).toMatchObject({ ok: false, code: "missing_signature" });
  });
  test("malformed header (hex instead of base64 prefix)", () => {
    expect(verifyTypeform("sha1=abc", body, ["s1"])).toMatchObject({ ok: false, code: "invalid_signature" });
  });
  test("messages never contain the secret", () => {
    const result = verifyTypeform(signTypeform("wrong", body), body, ["super-secret-value"]);
    expect(JSON.stringify(result)).not.toContain("super-secret-value");
  });
});

describe("github", () => {
  test("known vector: sha256=<hex>", () => {
    // The example from GitHub's docs: secret "It's a Secret to Everybody", payload "Hello, World!".
    expect(signGithub("It's a Secret to Everybody", "Hello, World!")).toBe(
      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    );
  });
  test("valid, upper-case hex accepted", () => {
    expect(verifyGithub(signGithub("s", body), body, ["s"]).ok).toBe(true);
    expect(verifyGithub(signGithub("s", body).toUpperCase().replace("SHA256=", "sha256="), body, ["s"]).ok).toBe(true);
  });
  test("wrong secret / tampered body", () => {
    expect(verifyGithub(signGithub("x", body), body, ["s"])).toMatchObject({ code: "invalid_signature" });
    expect(verifyGithub(signGithub("s", body), tampered, ["s"])).toMatchObject({ code: "invalid_signature" });
  });
  test("second secret during rotation", () => {
    expect(verifyGithub(signGithub("new", body), body, ["old", "new"]).ok).toBe(true);
  });
  test("missing and malformed header", () => {
    expect(verifyGithub(undefined, body, ["s"])).toMatchObject({ code: "missing_signature" });
    expect(verifyGithub("sha256=zz", body, ["s"])).toMatchObject({ code: "invalid_signature" });
  });
});

describe("stripe", () => {
  test("known vector: v1 = hex HMAC of '<t>.<body>'", () => {
    const mac = createHmac("sha256", "whsec_test").update(`${T}.`).update(body).digest("hex");
    expect(signStripe("whsec_test", T, body)).toBe(`t=${T},v1=${mac}`);
  });
  test("valid", () => {
    expect(verifyStripe(signStripe("s", T, body), body, ["s"], NOW, 300).ok).toBe(true);
  });
  test("wrong secret / tampered body", () => {
    expect(verifyStripe(signStripe("x", T, body), body, ["s"], NOW)).toMatchObject({ code: "invalid_signature" });
    expect(verifyStripe(signStripe("s", T, body), tampered, ["s"], NOW)).toMatchObject({ code: "invalid_signature" });
  });
  test("stale and future timestamps", () => {
    expect(verifyStripe(signStripe("s", T - 301, body), body, ["s"], NOW, 300)).toMatchObject({
      code: "timestamp_out_of_range",
    });
    expect(verifyStripe(signStripe("s", T + 301, body), body, ["s"], NOW, 300)).toMatchObject({
      code: "timestamp_out_of_range",
    });
    expect(verifyStripe(signStripe("s", T - 299, body), body, ["s"], NOW, 300).ok).toBe(true);
  });
  test("changing t invalidates the signature", () => {
    const header = signStripe("s", T, body).replace(`t=${T}`, `t=${T + 1}`);
    expect(verifyStripe(header, body, ["s"], NOW)).toMatchObject({ code: "invalid_signature" });
  });
  test("two v1 signatures, one valid (sender rotating)", () => {
    const good = signStripe("s", T, body).split(",")[1];
    const bad = signStripe("old", T, body).split(",")[1];
    expect(verifyStripe(`t=${T},${bad},${good}`, body, ["s"], NOW).ok).toBe(true);
    expect(verifyStripe(`t=${T},${bad},v0=deadbeef`, body, ["s"], NOW)).toMatchObject({ code: "invalid_signature" });
  });
  test("second secret during rotation", () => {
    expect(verifyStripe(signStripe("next", T, body), body, ["current", "next"], NOW).ok).toBe(true);
  });
  test("missing header, missing t, missing v1", () => {
    expect(verifyStripe(undefined, body, ["s"], NOW)).toMatchObject({ code: "missing_signature" });
    expect(verifyStripe(`v1=${"a".repeat(64)}`, body, ["s"], NOW)).toMatchObject({ code: "invalid_signature" });
    expect(verifyStripe(`t=${T}`, body, ["s"], NOW)).toMatchObject({ code: "invalid_signature" });
  });
});

describe("standard webhooks", () => {
  const secret = "whsec_aG9va2xpbmUtZGV2LXNlY3JldC0zMi1ieXRlcy1vayE=";
  const other = `whsec_${Buffer.from("another-secret-of-32-bytes-long!").toString("base64")}`;
  const headers = (sig: string, ts = T, id = "msg_1") => ({ id, timestamp: String(ts), signature: sig });
  test("valid", () => {
    expect(verifyStandardWebhook(headers(signStandardWebhook(secret, "msg_1", T, body)), body, [secret], NOW)).toEqual({
      ok: true,
      id: "msg_1",
      timestamp: T,
    });
  });
  test("wrong secret / tampered body / other id", () => {
    expect(
      verifyStandardWebhook(headers(signStandardWebhook(other, "msg_1", T, body)), body, [secret], NOW),
    ).toMatchObject({ code: "invalid_signature" });
    expect(
      verifyStandardWebhook(headers(signStandardWebhook(secret, "msg_1", T, body)), tampered, [secret], NOW),
    ).toMatchObject({ code: "invalid_signature" });
    expect(
      verifyStandardWebhook(headers(signStandardWebhook(secret, "msg_1", T, body), T, "msg_2"), body, [secret], NOW),
    ).toMatchObject({ code: "invalid_signature" });
  });
  test("stale and future timestamps", () => {
    expect(
      verifyStandardWebhook(
        headers(signStandardWebhook(secret, "msg_1", T - 301, body), T - 301),
        body,
        [secret],
        NOW,
        300,
      ),
    ).toMatchObject({ code: "timestamp_out_of_range" });
    expect(
      verifyStandardWebhook(
        headers(signStandardWebhook(secret, "msg_1", T + 301, body), T + 301),
        body,
        [secret],
        NOW,
        300,
      ),
    ).toMatchObject({ code: "timestamp_out_of_range" });
  });
  test("second secret during rotation; two signatures one valid", () => {
    expect(
      verifyStandardWebhook(headers(signStandardWebhook(other, "msg_1", T, body)), body, [secret, other], NOW).ok,
    ).toBe(true);
    const two = `${signStandardWebhook(other, "msg_1", T, body)} ${signStandardWebhook(secret, "msg_1", T, body)}`;
    expect(verifyStandardWebhook(headers(two), body, [secret], NOW).ok).toBe(true);
  });
  test("missing headers", () => {
    expect(
      verifyStandardWebhook({ id: "msg_1", timestamp: String(T), signature: undefined }, body, [secret], NOW),
    ).toMatchObject({ code: "missing_signature" });
  });
});

describe("token", () => {
  test("any of the configured tokens matches", () => {
    expect(tokenMatches("a", ["a"])).toBe(true);
    expect(tokenMatches("b", ["a", "b"])).toBe(true);
    expect(tokenMatches("c", ["a", "b"])).toBe(false);
    expect(tokenMatches("", ["a"])).toBe(false);
    expect(tokenMatches("aa", ["a"])).toBe(false);
  });
  test("basic auth round trip, password may contain colons", () => {
    expect(parseBasicAuth(basicAuthHeader("heyflow", "p:w"))).toEqual({ user: "heyflow", password: "p:w" });
    expect(parseBasicAuth("Bearer x")).toBeUndefined();
    expect(parseBasicAuth(undefined)).toBeUndefined();
  });
});
