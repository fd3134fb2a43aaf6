// Replay and timestamps (issue #7 item 5): event ids and submission times come only from
// what the sender signed, and a provider's time is believed only near our receipt time.
// Under the github and stripe schemes only the body is signed (Stripe's t= too, but it is
// checked against receipt at the ingress and not kept for parsing): a captured body
// re-posted with a new X-GitHub-Delivery or webhook-id must be the same event, and an
// unsigned webhook-timestamp must not set submittedAt ("later wins" decides by it).
import { describe, expect, test } from "bun:test";
import { signGithub } from "../../../shared/crypto/github.ts";
import { signStandardWebhook } from "../../../shared/crypto/standard-webhooks.ts";
import { signStripe } from "../../../shared/crypto/stripe.ts";
import { signTypeform } from "../../../shared/crypto/typeform.ts";
import { deriveEventId } from "../../../shared/events.ts";
import { PROVIDER_TIME_WINDOW, toIsoTimestamp } from "../../../shared/sources/body.ts";
import { getAdapter } from "../../../shared/sources/registry.ts";
import type { RawRequest, SourceConfig } from "../../../shared/sources/types.ts";
import { NOW, request, source } from "./helpers.ts";

const receipt = new Date(NOW).toISOString();
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Authenticates (as the ingress does) and returns the event id the ingress would derive, plus the parsed event. */
function deliver(req: RawRequest, src: SourceConfig) {
  const adapter = getAdapter(src.adapter);
  const auth = adapter.authenticate(req, src);
  if (!auth.ok) throw new Error(`${auth.code}: ${auth.message}`);
  const providerEventId = adapter.providerEventId(req, auth);
  return { providerEventId, eventId: deriveEventId(src.id, providerEventId, req.body), event: adapter.parse(req, src) };
}

describe("event ids only from signed data", () => {
  const gh = source("generic", { scheme: "github", secrets: ["gh-secret"] });
  const st = source("generic", {
    scheme: "stripe",
    secrets: ["st-secret"],
    toleranceSeconds: 300,
    header: "stripe-signature",
  });
  const noId = JSON.stringify({ email: "victim@example.com", city: "Berlin" });
  const ghPost = (headers: Record<string, string>) =>
    request(noId, {
      contentType: "application/json",
      headers: { "x-hub-signature-256": signGithub("gh-secret", noId), ...headers },
    });

  test("github scheme: a captured body re-posted with another X-GitHub-Delivery is the same event", () => {
    const first = deliver(ghPost({ "x-github-delivery": "d-1" }), gh);
    const replay = deliver(ghPost({ "x-github-delivery": "d-2" }), gh);
    expect(first.providerEventId).toBeNull();
    expect(replay.eventId).toBe(first.eventId);
    expect(replay.event.providerEventId).toBeNull();
    // Nor does an unsigned webhook-id stand in.
    expect(deliver(ghPost({ "webhook-id": "msg_new" }), gh).eventId).toBe(first.eventId);
  });

  test("stripe scheme: delivery headers are ignored too; an id in the (signed) body is used", () => {
    const ts = Math.floor(NOW / 1000);
    const post = (body: string, headers: Record<string, string>) =>
      request(body, {
        contentType: "application/json",
        headers: { "stripe-signature": signStripe("st-secret", ts, body), ...headers },
      });
    const a = deliver(post(noId, { "x-github-delivery": "d-1", "webhook-id": "m-1" }), st);
    const b = deliver(post(noId, { "x-github-delivery": "d-2", "webhook-id": "m-2" }), st);
    expect(a.providerEventId).toBeNull();
    expect(b.eventId).toBe(a.eventId);
    const withId = JSON.stringify({ id: "evt_7", email: "a@b.de" });
    expect(deliver(post(withId, { "x-github-delivery": "d-3" }), st).providerEventId).toBe("evt_7");
  });

  test("google-forms under the github scheme: an unsigned webhook-id is not the event id, the body's responseId is", () => {
    const gf = source("google-forms", { scheme: "github", secrets: ["gh-secret"] });
    const body = JSON.stringify({ formId: "F", responseId: "R1", answers: [{ title: "E-Mail", response: "a@b.de" }] });
    const req = request(body, {
      contentType: "application/json",
      headers: { "x-hub-signature-256": signGithub("gh-secret", body), "webhook-id": "forged" },
    });
    const { providerEventId, event } = deliver(req, gf);
    expect(providerEventId).toBe("R1");
    expect(event.providerEventId).toBe("R1");
  });

  test("standard webhooks: the signed webhook-id is the event id", () => {
    const secret = "whsec_aG9va2xpbmUtZGV2LXNlY3JldC0zMi1ieXRlcy1vayE=";
    const sw = source("generic", { scheme: "standard-webhooks", secrets: [secret], toleranceSeconds: 300 });
    const ts = Math.floor(NOW / 1000);
    const req = request(noId, {
      contentType: "application/json",
      headers: {
        "webhook-id": "msg_1",
        "webhook-timestamp": String(ts),
        "webhook-signature": signStandardWebhook(secret, "msg_1", ts, noId),
      },
    });
    const { providerEventId, event } = deliver(req, sw);
    expect(providerEventId).toBe("msg_1");
    expect(event.providerEventId).toBe("msg_1");
  });
});

describe("submittedAt only from signed data", () => {
  const body = JSON.stringify({ email: "a@b.de" });
  const dayBefore = String(Math.floor((NOW - DAY) / 1000));

  test("github scheme: an unsigned webhook-timestamp is ignored (receipt time)", () => {
    const gh = source("generic", { scheme: "github", secrets: ["gh-secret"] });
    const req = request(body, {
      contentType: "application/json",
      headers: { "x-hub-signature-256": signGithub("gh-secret", body), "webhook-timestamp": dayBefore },
    });
    expect(deliver(req, gh).event.submittedAt).toBe(receipt);
    const gf = source("google-forms", { scheme: "github", secrets: ["gh-secret"] });
    const gfBody = JSON.stringify({ answers: [{ title: "E-Mail", response: "a@b.de" }] });
    const gfReq = request(gfBody, {
      contentType: "application/json",
      headers: { "x-hub-signature-256": signGithub("gh-secret", gfBody), "webhook-timestamp": dayBefore },
    });
    expect(deliver(gfReq, gf).event.submittedAt).toBe(receipt);
  });

  test("standard webhooks: the signed webhook-timestamp is used when the body has none", () => {
    const secret = "whsec_aG9va2xpbmUtZGV2LXNlY3JldC0zMi1ieXRlcy1vayE=";
    const sw = source("generic", { scheme: "standard-webhooks", secrets: [secret], toleranceSeconds: 300 });
    const ts = Math.floor(NOW / 1000) - 60;
    const req = request(body, {
      contentType: "application/json",
      headers: {
        "webhook-id": "m",
        "webhook-timestamp": String(ts),
        "webhook-signature": signStandardWebhook(secret, "m", ts, body),
      },
    });
    expect(deliver(req, sw).event.submittedAt).toBe(iso(ts * 1000));
  });
});

describe("provider timestamps are bounded to a window around receipt", () => {
  const farFuture = "2099-01-01T00:00:00Z";
  const tooOld = iso(NOW - PROVIDER_TIME_WINDOW.maxBehindMs - DAY);
  const monthAgo = iso(NOW - 30 * DAY);

  const edge = iso(NOW - PROVIDER_TIME_WINDOW.maxBehindMs);
  test("toIsoTimestamp: inside the window kept; ahead of it the receipt time; before it the window's edge", () => {
    expect(toIsoTimestamp(monthAgo, NOW)).toBe(monthAgo);
    expect(toIsoTimestamp(iso(NOW + 60_000), NOW)).toBe(iso(NOW + 60_000)); // clock skew
    expect(toIsoTimestamp(iso(NOW + PROVIDER_TIME_WINDOW.maxAheadMs + 1000), NOW)).toBe(receipt);
    expect(toIsoTimestamp(farFuture, NOW)).toBe(receipt);
    expect(toIsoTimestamp(4_102_444_800, NOW)).toBe(receipt); // 2100 in unix seconds
    // Long past stays old (it must not win "later wins" as if it were new).
    expect(toIsoTimestamp(tooOld, NOW)).toBe(edge);
    expect(toIsoTimestamp(0, NOW)).toBe(edge);
    // A fallback outside the window is not believed either.
    expect(toIsoTimestamp(undefined, NOW, Date.parse(farFuture))).toBe(receipt);
  });

  const cases: [string, SourceConfig, (when: string) => RawRequest][] = [
    [
      "generic (timestamp)",
      source("generic", { scheme: "github", secrets: ["s"] }),
      (when) => {
        const b = JSON.stringify({ timestamp: when, email: "a@b.de" });
        return request(b, { contentType: "application/json", headers: { "x-hub-signature-256": signGithub("s", b) } });
      },
    ],
    [
      "typeform (submitted_at)",
      source("typeform", { scheme: "typeform", secrets: ["s"] }),
      (when) => {
        const b = JSON.stringify({ event_id: "e", form_response: { form_id: "F", submitted_at: when, answers: [] } });
        return request(b, { contentType: "application/json", headers: { "typeform-signature": signTypeform("s", b) } });
      },
    ],
    [
      "heyflow (createdAt)",
      source("heyflow", { scheme: "token", tokens: ["t"], header: "x-webhook-token" }),
      (when) =>
        request({ id: "h", createdAt: when, fields: { "E-Mail": "a@b.de" } }, { headers: { "x-webhook-token": "t" } }),
    ],
    [
      "google-forms (timestamp)",
      source("google-forms", { scheme: "github", secrets: ["s"] }),
      (when) => {
        const b = JSON.stringify({
          responseId: "r",
          timestamp: when,
          answers: [{ title: "E-Mail", response: "a@b.de" }],
        });
        return request(b, { contentType: "application/json", headers: { "x-hub-signature-256": signGithub("s", b) } });
      },
    ],
  ];
  test.each(cases)(
    "%s: far future → receipt time; implausibly old → the window's edge; a month ago kept",
    (_name, src, build) => {
      expect(deliver(build(farFuture), src).event.submittedAt).toBe(receipt);
      expect(deliver(build(tooOld), src).event.submittedAt).toBe(edge);
      expect(deliver(build(monthAgo), src).event.submittedAt).toBe(monthAgo);
    },
  );
});
