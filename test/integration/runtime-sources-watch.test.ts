// A pod's runtime sources (shared/sources/runtime.ts) after its watch of the bucket ends: until
// the next watch has replayed the bucket, a source created meanwhile is missing from its map, so
// a name it does not know is "not loaded yet" (503, and the pod not ready), never "unknown"
// (404: Typeform disables a webhook for good after one). Real nats-server; the watch ends here
// because its connection is closed (the ordered consumer under it survives reconnects and a
// deleted stream, so that is the way to end one from outside).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Writable } from "node:stream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createLogger } from "../../shared/logger.ts";
import { provisionJetStream } from "../../shared/nats.ts";
import type { SourceConfig } from "../../shared/sources/index.ts";
import { watchRuntimeSources } from "../../shared/sources/runtime.ts";
import { TEST_KEYS } from "../keys.ts";
import { type NatsServer, startNats, waitFor } from "./harness.ts";

let nats: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  await provisionJetStream(nc);
});

afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

test("after the watch ends, unknown names are 'not loaded yet' (503), not unknown (404)", async () => {
  const own = await connect({ servers: nats.url });
  const watch = watchRuntimeSources({
    nc: own,
    keyring: TEST_KEYS.data,
    sources: new Map<string, SourceConfig>(),
    fileSources: new Set(),
    log: createLogger("test", "silent", new Writable({ write: (_c, _e, done) => done() })),
  });
  try {
    await watch.ready;
    expect([watch.loaded(), watch.unavailable("no-such-source")]).toEqual([true, false]);
    await own.close();
    await waitFor("the watch's end noticed", async () => !watch.loaded() || undefined, 10_000);
    expect(watch.unavailable("no-such-source")).toBe(true);
    // A source the bucket holds may also be there now: the projector waits for it.
    expect(await watch.mayArrive("no-such-source")).toBe(true);
  } finally {
    watch.stop();
  }
});
