// Dashboard tokens (issue #10 item 5): their recognizable format, the checksum that lets a
// forged or mistyped one be refused without a database query, names and expiry spans.
import { expect, test } from "bun:test";
import {
  newToken,
  parseExpiresIn,
  TOKEN_PATTERN,
  tokenDigest,
  validTokenName,
  wellFormedToken,
} from "../../services/dashboard/tokens.ts";

test("a new token is hl_ + 256 random bits + a checksum, base64url, and secret scanners' pattern finds it", () => {
  const a = newToken();
  const b = newToken();
  expect(a).not.toBe(b);
  expect(a).toMatch(/^hl_[A-Za-z0-9_-]{49}$/);
  expect(Buffer.from(a.slice(3, 46), "base64url")).toHaveLength(32);
  expect(wellFormedToken(a)).toBe(true);
  // The pattern documented for scanners finds it inside text (a leaked .env line, a log).
  expect(`DASHBOARD_TOKEN=${a}\n`.match(new RegExp(TOKEN_PATTERN, "g"))).toEqual([a]);
});

test("a token with a changed character, a wrong length or another prefix is not well-formed", () => {
  const t = newToken();
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
  expect(wellFormedToken(flip(t, 10))).toBe(false); // in the random part: checksum no longer matches
  expect(wellFormedToken(flip(t, t.length - 1))).toBe(false); // in the checksum
  expect(wellFormedToken(t.slice(0, -1))).toBe(false);
  expect(wellFormedToken(`${t}A`)).toBe(false);
  expect(wellFormedToken(`xx_${t.slice(3)}`)).toBe(false);
  expect(wellFormedToken("dev-admin-token")).toBe(false);
  expect(wellFormedToken("")).toBe(false);
});

test("the digest is SHA-256 of the token (32 bytes), the same each time", () => {
  const t = newToken();
  expect(tokenDigest(t)).toHaveLength(32);
  expect(tokenDigest(t).equals(tokenDigest(t))).toBe(true);
  expect(tokenDigest(t).equals(tokenDigest(newToken()))).toBe(false);
});

test("names start with a letter (so a name is never taken for an id) and are short and plain", () => {
  for (const ok of ["ci", "alice.smith", "grafana-reader_2", "A".repeat(64)])
    expect([ok, validTokenName(ok)]).toEqual([ok, true]);
  for (const bad of ["", "42", "1abc", "has space", "a/b", "ä", "A".repeat(65), "x\n"])
    expect([bad, validTokenName(bad)]).toEqual([bad, false]);
});

test.each([
  ["90d", 90 * 86_400_000],
  ["12h", 12 * 3_600_000],
  ["30m", 30 * 60_000],
  ["2w", 14 * 86_400_000],
  ["1d", 86_400_000],
] as const)("--expires-in %s", (text, ms) => {
  expect(parseExpiresIn(text)).toBe(ms);
});

test.each(["", "0d", "90", "d", "1.5d", "-1d", "90 d", "1y", "100000d"])("--expires-in %p is refused", (text) => {
  expect(() => parseExpiresIn(text)).toThrow(expect.objectContaining({ code: "usage" }));
});
