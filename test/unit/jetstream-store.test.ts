// The JetStream store key reaches nats-server through $JS_KEY, whose value the server parses as
// a config value: it must read as a bare string.
import { expect, test } from "bun:test";
import { encryptedStoreConfig, newJetStreamKey } from "../../ops/jetstream-store.ts";

test("a store key is a letter and 64 hex digits, new each time", () => {
  const keys = Array.from({ length: 200 }, newJetStreamKey);
  for (const key of keys) expect(key).toMatch(/^k[0-9a-f]{64}$/);
  expect(new Set(keys).size).toBe(keys.length);
});

test("the config names the key only as $JS_KEY and encrypts the store", () => {
  const config = encryptedStoreConfig("/data/js");
  expect(config).toContain('store_dir: "/data/js"');
  expect(config).toContain("cipher: aes");
  expect(config).toContain("key: $JS_KEY");
});
