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
import { openSourcesBucket, provisionJetStream } from "../../shared/nats.ts";
import type { SourceConfig } from "../../shared/sources/index.ts";
import { sealSecrets, sourceDisabled, watchRuntimeSources } from "../../shared/sources/runtime.ts";
import { TEST_KEYS } from "../keys.ts";
import { source } from "../unit/sources/helpers.ts";
import { type NatsServer, startNats, waitFor } from "./harness.ts";

const FILE_SECRET = `whsec_${Buffer.alloc(32, 1).toString("base64")}`;

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

test("a bucket record under a sources-file name is ignored (the file wins); a disabled runtime source arrives as disabled", async () => {
  const own = await connect({ servers: nats.url });
  const fileSource = source("generic", { scheme: "standard-webhooks", secrets: [FILE_SECRET], toleranceSeconds: 300 });
  const sources = new Map<string, SourceConfig>([["generic", fileSource]]);
  const watch = watchRuntimeSources({
    nc: own,
    keyring: TEST_KEYS.data,
    sources,
    fileSources: new Set(["generic"]),
    log: createLogger("test", "silent", new Writable({ write: (_c, _e, done) => done() })),
  });
  try {
    await watch.ready;
    const kv = await openSourcesBucket(nc);
    const record = (name: string, enabled: boolean) =>
      JSON.stringify({
        name,
        type: "generic",
        clientId: "1",
        enabled,
        secrets: sealSecrets(TEST_KEYS.data, [
          { value: `whsec_${Buffer.alloc(32, 7).toString("base64")}`, expiresAt: null },
        ]).toString("base64"),
        updatedAt: new Date().toISOString(),
      });
    await kv.put("generic", record("generic", false));
    await kv.put("watch-disabled", record("watch-disabled", false));
    await waitFor("the runtime source in the map", async () => sources.get("watch-disabled") ?? undefined, 10_000);
    expect(sourceDisabled(sources.get("watch-disabled")!)).toBe(true);
    // Applied in order: by now the record under the file's name has been seen, and left alone.
    expect(sources.get("generic")).toBe(fileSource);
    expect(watch.unavailable("generic")).toBe(false);
  } finally {
    watch.stop();
    await own.close();
  }
});
