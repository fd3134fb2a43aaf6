// JetStream's store encrypted at rest, as ./ops/up runs nats-server (ops/lib.sh start_nats),
// for the test harness and the bench: the config names the key only as $JS_KEY, so the key
// is in no file.

/** The config file's text: JetStream with its store in `storeDir`, encrypted with $JS_KEY. */
export function encryptedStoreConfig(storeDir: string): string {
  return `jetstream {\n  store_dir: "${storeDir}"\n  cipher: aes\n  key: $JS_KEY\n}\n`;
}

/**
 * A new JetStream store key: "k" and 64 hex digits. nats-server parses the variable's value as
 * a config value, so a key must read as a bare string: a base64 key such as "1.5…" stopped the
 * server with a parse error (about one start in five failed).
 */
export function newJetStreamKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `k${Buffer.from(bytes).toString("hex")}`;
}
