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

/** One node of a local JetStream cluster on loopback (the test harness, ops/chaos, ./ops/up --nats-cluster). */
export interface ClusterNodeConfig {
  /** Distinct per node: JetStream's Raft groups name their peers by it. */
  serverName: string;
  storeDir: string;
  /** The port the other nodes' routes connect to. */
  clusterPort: number;
  /** Every node's cluster port (this node's own included: nats-server ignores a route to itself). */
  routePorts: number[];
  /** Raises JetStream's file-store limit above what the disk holds (the chaos suite's disk-full fault). */
  maxFileStore?: string;
}

/** The config file's text of a cluster node: encrypted store as above, plus its cluster block. */
export function clusterNodeConfig(node: ClusterNodeConfig): string {
  const routes = node.routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(", ");
  const limit = node.maxFileStore ? `  max_file_store: ${node.maxFileStore}\n` : "";
  // A "cluster" of one is a plain server: alone in a cluster block it would wait for peers.
  const cluster =
    node.routePorts.length > 1
      ? `cluster {\n  name: hookline\n  listen: 127.0.0.1:${node.clusterPort}\n  routes: [${routes}]\n}\n`
      : "";
  return (
    `server_name: ${node.serverName}\n` +
    `jetstream {\n  store_dir: "${node.storeDir}"\n  cipher: aes\n  key: $JS_KEY\n${limit}}\n` +
    cluster
  );
}
