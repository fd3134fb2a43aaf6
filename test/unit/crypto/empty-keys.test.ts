// Defence in depth (issue #7 item 3): even if an empty or undecodable secret got past the
// start-up checks, no verifier accepts a signature made with an empty key, and an empty
// token or Basic password never matches.
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { signGithub, verifyGithub } from "../../../shared/crypto/github.ts";
import {
  decodeStandardSecret,
  signStandardWebhook,
  verifyStandardWebhook,
} from "../../../shared/crypto/standard-webhooks.ts";
import { signStripe, verifyStripe } from "../../../shared/crypto/stripe.ts";
import { basicAuthHeader, tokenMatches } from "../../../shared/crypto/token.ts";
import { signTypeform, verifyTypeform } from "../../../shared/crypto/typeform.ts";
import { authenticateToken } from "../../../shared/sources/adapters/auth.ts";
import { request } from "../sources/helpers.ts";

const body = new TextEncoder().encode('{"data":{"Email":"a@example.com"}}');
const NOW = 1_718_000_000_000;
const T = NOW / 1000;
const emptyKeyMac = (...parts: string[]) => {
  const mac = createHmac("sha256", Buffer.alloc(0));
  for (const p of parts) mac.update(p);
  return mac.update(body).digest();
};

describe("a signature made with an empty key never verifies", () => {
  test("github", () => {
    expect(verifyGithub(signGithub("", body), body, [""]).ok).toBe(false);
  });
  test("typeform", () => {
    expect(verifyTypeform(signTypeform("", body), body, [""]).ok).toBe(false);
  });
  test("stripe", () => {
    expect(verifyStripe(signStripe("", T, body), body, [""], NOW).ok).toBe(false);
  });
  test("an empty secret next to a real one is skipped, the real one still verifies", () => {
    expect(verifyGithub(signGithub("", body), body, ["", "real-secret-123456"]).ok).toBe(false);
    expect(verifyGithub(signGithub("real-secret-123456", body), body, ["", "real-secret-123456"]).ok).toBe(true);
  });
  test.each(["whsec_", "whsec_   ", "whsec_\n", "whsec_!!!!", "   ", ""])(
    "standard webhooks, secret %p (a lenient decode gives 0 bytes)",
    (secret) => {
      const sig = `v1,${emptyKeyMac("msg_1.", `${T}.`).toString("base64")}`;
      expect(verifyStandardWebhook({ id: "msg_1", timestamp: String(T), signature: sig }, body, [secret], NOW).ok).toBe(
        false,
      );
    },
  );
});

describe("standard webhooks secrets decode strictly", () => {
  test("junk and whitespace are not skipped: the secret is unusable", () => {
    expect(decodeStandardSecret("whsec_aGVs bG8=").length).toBe(0);
    expect(decodeStandardSecret("whsec_aGVsbG8=\n").length).toBe(0);
    expect(decodeStandardSecret("whsec_aGVsbG8").length).toBe(0); // unpadded
    expect(decodeStandardSecret("whsec_aGVsbG9=").length).toBe(0); // non-canonical trailing bits
    expect(decodeStandardSecret("whsec_aGVsbG8=").toString()).toBe("hello");
  });
  test("signing with an unusable secret throws instead of signing with an empty key", () => {
    expect(() => signStandardWebhook("whsec_   ", "msg_1", T, body)).toThrow();
  });
});

describe("tokens", () => {
  test("an empty presented token never matches, not even an empty configured one", () => {
    expect(tokenMatches("", [""])).toBe(false);
    expect(tokenMatches("", ["real-token-1234567"])).toBe(false);
    expect(tokenMatches("real-token-1234567", ["", "real-token-1234567"])).toBe(true);
  });
  test("HTTP Basic with an empty password never authenticates", () => {
    for (const tokens of [[""], ["real-token-1234567"]]) {
      const auth = { scheme: "token" as const, tokens, header: "x-webhook-token", basicUser: "heyflow" };
      const req = request({ a: 1 }, { headers: { authorization: basicAuthHeader("heyflow", "") } });
      expect(authenticateToken(req, auth).ok).toBe(false);
    }
  });
});
