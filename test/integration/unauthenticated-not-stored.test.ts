// "Bad signature → 401, never stored" (issue #7 item 9): for every dev source, requests with
// a missing credential, a wrong secret/token or a tampered body are answered 401 and nothing
// reaches NATS: neither WEBHOOKS nor the quarantine stream WEBHOOKS_DLQ holds a message.
// A correctly signed request at the end is stored, so the probe demonstrably sees messages.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { basicAuthHeader } from "../../shared/crypto/token.ts";
import { DLQ_STREAM, STREAM } from "../../shared/nats.ts";
import type { SourceConfig } from "../../shared/sources/types.ts";
import { fixtureSource, loadFixtures, type SignedRequest, signFixtureRequest } from "../fixtures/load.ts";
import { type Cluster, startCluster } from "./harness.ts";

const SOURCES = ["heyflow", "typeform", "google-forms", "generic"];
const fixtures = loadFixtures();
const fixtureOf = (source: string) =>
  fixtures.find((f) => f.source === source && !f.sourceOverrides && (f.method ?? "POST") === "POST")!;
const AUTH_HEADERS = [
  "x-webhook-token",
  "authorization",
  "typeform-signature",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
];

/** The same source with another secret: a signature anybody without the real one could make. */
function withWrongSecret(source: SourceConfig): SourceConfig {
  const auth = source.auth;
  if (auth.scheme === "token") return { ...source, auth: { ...auth, tokens: ["not-the-configured-token"] } };
  if (auth.scheme === "standard-webhooks")
    return { ...source, auth: { ...auth, secrets: [`whsec_${Buffer.alloc(32, 9).toString("base64")}`] } };
  return { ...source, auth: { ...auth, secrets: ["not-the-configured-secret"] } } as SourceConfig;
}

/** Every way one source's request can fail authentication, each with a name for the report. */
function badRequests(source: string): [string, SignedRequest][] {
  const fixture = fixtureOf(source);
  const good = signFixtureRequest(fixture, source);
  const stripped = Object.fromEntries(Object.entries(good.headers).filter(([k]) => !AUTH_HEADERS.includes(k)));
  const tampered = new Uint8Array(good.body);
  tampered[tampered.length - 2] = tampered.at(-2)! ^ 1;
  const cases: [string, SignedRequest][] = [
    ["no credential", { ...good, headers: stripped }],
    [
      "wrong secret",
      signFixtureRequest(fixture, source, Date.now(), {
        sourceConfig: withWrongSecret(fixtureSource(fixture, source)),
        webhookId: `msg_wrong_${source}`,
      }),
    ],
  ];
  if (source === "heyflow")
    cases.push([
      "HTTP Basic with an empty password",
      { ...good, headers: { ...stripped, authorization: basicAuthHeader("heyflow", "") } },
    ]);
  else cases.push(["tampered body", { ...good, body: tampered }]);
  return cases;
}

let cluster: Cluster;
let nc: NatsConnection;
let jsm: JetStreamManager;
let ingressUrl: string;
const post = (req: SignedRequest) =>
  fetch(`${ingressUrl}${req.url}`, { method: req.method, headers: req.headers, body: req.body as BodyInit });
const messages = async (stream: string) => (await jsm.streams.info(stream)).state.messages;

beforeAll(async () => {
  cluster = await startCluster(["ingress"]);
  ingressUrl = cluster.services.ingress!.url;
  nc = await connect({ servers: cluster.nats.url });
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

test("unauthenticated requests to every dev source get 401 and leave both streams empty", async () => {
  const answers: string[] = [];
  for (const source of SOURCES) {
    for (const [what, req] of badRequests(source)) {
      const res = await post(req);
      answers.push(`${source} / ${what}: ${res.status} ${(await res.json()).error?.code}`);
      expect(`${source} / ${what}: ${res.status}`).toBe(`${source} / ${what}: 401`);
    }
  }
  expect(answers).toHaveLength(SOURCES.length * 3);
  expect(await messages(STREAM)).toBe(0);
  expect(await messages(DLQ_STREAM)).toBe(0);

  // The control: one correctly signed request is stored, and the same probe counts it.
  const res = await post(signFixtureRequest(fixtureOf("generic"), "generic"));
  expect(res.status).toBe(200);
  expect(await messages(STREAM)).toBe(1);
  expect(await messages(DLQ_STREAM)).toBe(0);
});
