// Sources created at runtime (the dashboard's "Add New Client"; services/dashboard/sources.ts):
// what a source of each type is made of, and how every ingress and projector pod learns of
// them within moments, without a restart. Postgres (table sources, migration 011) holds them;
// the dashboard writes each one's record into the NATS KV bucket SOURCES_BUCKET, which every pod
// watches into its live map of sources. The sources file (HOOKLINE_SOURCES) wins for the names
// it defines: a record under such a name is ignored (GitOps).
//
// The secrets travel and rest sealed (shared/crypto/envelope.ts, the data keyring): the record
// carries the bytes of sources.secrets_enc, opened only in the pod's memory.
import { existsSync } from "node:fs";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { open, seal } from "../crypto/envelope.ts";
import { type Keyring, loadKeyring } from "../crypto/keyring.ts";
import { DEV_KEYRING_FILES } from "../dev-credentials.ts";
import type { Logger } from "../logger.ts";
import { openSourcesBucket } from "../nats.ts";
import { SOURCE_DEFAULTS } from "./config.ts";
import { type AdapterType, getAdapter } from "./registry.ts";
import type { AuthConfig, SourceConfig } from "./types.ts";

/** The form tools a source can be created for at runtime (one adapter each). */
export const RUNTIME_SOURCE_TYPES = ["heyflow", "typeform", "google-forms", "generic"] as const satisfies AdapterType[];
export type RuntimeSourceType = (typeof RUNTIME_SOURCE_TYPES)[number];

/** What the seal of a source's secrets is bound to (its AAD), in Postgres and in the bucket. */
const SECRETS_PURPOSE = "sources.secrets";

/** One secret: the current one has no expiry; the one it replaced keeps working until expiresAt. */
export interface SourceSecret {
  value: string;
  expiresAt: string | null;
}

/** A source as the bucket holds it (key: its name). */
export interface RuntimeSourceRecord {
  name: string;
  type: RuntimeSourceType;
  clientId: string;
  enabled: boolean;
  /** base64 of the sealed JSON SourceSecret[] (the bytes of sources.secrets_enc). */
  secrets: string;
  updatedAt: string;
}

/** A source's config as the ingress and projector use it, plus what only runtime sources have. */
export interface RuntimeSourceConfig extends SourceConfig {
  clientId: string;
  enabled: boolean;
}

export const sealSecrets = (keyring: Keyring, secrets: SourceSecret[]): Buffer =>
  seal(keyring, SECRETS_PURPOSE, JSON.stringify(secrets));

export const openSecrets = (keyring: Keyring, sealed: Uint8Array): SourceSecret[] =>
  JSON.parse(open(keyring, SECRETS_PURPOSE, sealed).toString("utf8")) as SourceSecret[];

/** The secrets still valid at `now` (the current one always is). */
export function liveSecrets(secrets: SourceSecret[], now: number): string[] {
  return secrets.filter((s) => s.expiresAt === null || Date.parse(s.expiresAt) > now).map((s) => s.value);
}

/** The header a HeyFlow token is sent in (HeyFlow's webhook settings name it). */
export const HEYFLOW_TOKEN_HEADER = SOURCE_DEFAULTS.tokenHeader;

/** How a source of `type` authenticates with `secrets` (current first). */
function authFor(type: RuntimeSourceType, secrets: string[]): AuthConfig {
  switch (type) {
    case "heyflow":
      // HeyFlow cannot sign: a shared token in a header (or as the HTTP Basic password).
      return { scheme: "token", tokens: secrets, header: HEYFLOW_TOKEN_HEADER };
    case "typeform":
      return { scheme: "typeform", secrets };
    case "google-forms":
    case "generic":
      return { scheme: "standard-webhooks", secrets, toleranceSeconds: SOURCE_DEFAULTS.toleranceSeconds };
  }
}

/** The body limit of a runtime source (the sources file's default). */
export const RUNTIME_MAX_BODY_BYTES = SOURCE_DEFAULTS.maxBodyBytes;

/**
 * Bun's own cap on request bodies (`maxRequestBodySize`) for a service that takes these sources'
 * webhooks, or samples of them: four times the largest source limit, runtime sources' included
 * when they are on. Well above every limit, so that the service, not Bun, answers an oversize
 * body with its JSON error; Bun's default (128 MiB) would let anyone, before any check, make a pod
 * hold that much.
 *
 * @example app.listen({ port, maxRequestBodySize: serverBodyCap(sources.values(), true) })
 */
export function serverBodyCap(sources: Iterable<{ maxBodyBytes: number }>, runtimeSources: boolean): number {
  const limits = [...sources].map((s) => s.maxBodyBytes);
  return 4 * Math.max(...limits, runtimeSources ? RUNTIME_MAX_BODY_BYTES : 1024);
}

/** A runtime source's config with the sources file's defaults (no mappings, no IP list, no rate limit). */
export function runtimeSourceConfig(
  record: Omit<RuntimeSourceRecord, "secrets" | "updatedAt">,
  secrets: SourceSecret[],
  now = Date.now(),
): RuntimeSourceConfig {
  const adapter = getAdapter(record.type);
  return {
    id: record.name,
    adapter: record.type,
    auth: authFor(record.type, liveSecrets(secrets, now)),
    contentTypes: [...adapter.contentTypes],
    maxBodyBytes: RUNTIME_MAX_BODY_BYTES,
    phoneRegion: SOURCE_DEFAULTS.phoneRegion,
    dateOrder: SOURCE_DEFAULTS.dateOrder,
    forms: {},
    allowedIps: [],
    rateLimitPerSecond: 0,
    clientId: record.clientId,
    enabled: record.enabled,
  };
}

/** Whether a source may be posted to: a runtime source can be disabled (ingress: 403 source_disabled). */
export const sourceDisabled = (source: SourceConfig): boolean =>
  (source as Partial<RuntimeSourceConfig>).enabled === false;

/**
 * The keyring that opens runtime sources' secrets (HOOKLINE_KEYS, the data keyring), for a pod
 * that otherwise holds no keys (the ingress). Not given (in development: nor ./ops/up's dev
 * keyring file present): undefined, and the pod serves the sources file's sources only. Given but
 * unreadable: throws (KeyringError), as for the other services.
 */
export function runtimeSourcesKeyring(c: {
  hooklineEnv: string | undefined;
  dataKeys: string;
  dataKeysFile: string;
}): Keyring | undefined {
  const given = Boolean(c.dataKeys.trim() || c.dataKeysFile.trim());
  const dev = c.hooklineEnv === "development";
  if (!given && !(dev && existsSync(DEV_KEYRING_FILES.data))) return undefined;
  return loadKeyring({
    variable: "HOOKLINE_KEYS",
    inline: c.dataKeys,
    file: c.dataKeysFile,
    devFile: dev ? DEV_KEYRING_FILES.data : undefined,
  });
}

export interface RuntimeSourcesWatch {
  /** Settles once the bucket's contents at start are in the map (or after `readyTimeoutMs`). */
  ready: Promise<void>;
  /**
   * Whether the bucket's contents are in the map (the timeout aside): a readiness condition.
   * False again from a watch's end until the next watch has replayed the bucket.
   */
  loaded(): boolean;
  /**
   * Whether `name`, not in the map, may be a source this pod cannot serve now: the bucket's
   * contents are not loaded (at start, or while the watch is re-established: a source may have
   * been created meanwhile), or its record did not open (no HOOKLINE_KEYS here, or a key this
   * pod lacks). Such a source is answered 503, never 404 (Typeform disables a webhook for good
   * after a 404).
   */
  unavailable(name: string): boolean;
  /**
   * Whether the bucket holds `name` now, or this pod cannot yet tell (bucket not loaded, or the
   * record unreadable here): a message for it may become projectable. Asks the bucket itself,
   * which may be ahead of the watch.
   */
  mayArrive(name: string): Promise<boolean>;
  stop(): void;
}

/**
 * Keeps `sources` (the pod's live map, read on every request) in step with the bucket: a put
 * adds or replaces a runtime source, a delete removes it; names in `fileSources` are left to the
 * sources file. A record that cannot be read (or any, without a keyring) is noted as unavailable
 * with a warning naming the source only. When a previous secret's overlap ends, the source is
 * rebuilt without it.
 */
export function watchRuntimeSources(deps: {
  nc: NatsConnection;
  keyring: Keyring | undefined;
  sources: Map<string, SourceConfig>;
  fileSources: ReadonlySet<string>;
  log: Logger;
  readyTimeoutMs?: number;
}): RuntimeSourcesWatch {
  const { keyring, sources, fileSources, log } = deps;
  const expiries = new Map<string, ReturnType<typeof setTimeout>>();
  const unreadable = new Set<string>();
  let stopped = false;
  let loaded = false;
  /** The bucket the watch opened (set before anything is loaded from it). */
  let bucket: KV | undefined;
  let stopWatch = () => {};
  let resolveReady = () => {};
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
    setTimeout(resolve, deps.readyTimeoutMs ?? 5000).unref?.();
  });
  const markReady = () => {
    loaded = true;
    resolveReady();
  };

  function apply(name: string, record: RuntimeSourceRecord | null): void {
    clearTimeout(expiries.get(name));
    expiries.delete(name);
    if (fileSources.has(name)) return;
    unreadable.delete(name);
    if (!record) {
      sources.delete(name);
      return;
    }
    if (!keyring) throw new Error("HOOKLINE_KEYS is not set on this pod");
    const secrets = openSecrets(keyring, Buffer.from(record.secrets, "base64"));
    sources.set(name, runtimeSourceConfig(record, secrets));
    const next = Math.min(...secrets.filter((s) => s.expiresAt).map((s) => Date.parse(s.expiresAt!)));
    if (Number.isFinite(next) && next > Date.now()) {
      // setTimeout's limit is ~24.8 days: a longer overlap is looked at again then.
      const timer = setTimeout(() => apply(name, record), Math.min(next - Date.now() + 10, 2 ** 31 - 1));
      timer.unref?.();
      expiries.set(name, timer);
    }
  }

  /** One watch from the bucket's current contents on; returns when the watch ends. */
  async function watchOnce(): Promise<void> {
    const kv = await openSourcesBucket(deps.nc);
    bucket = kv;
    if ((await kv.status()).values === 0) markReady();
    const watch = await kv.watch();
    stopWatch = () => watch.stop();
    if (stopped) watch.stop();
    for await (const entry of watch) {
      try {
        apply(entry.key, entry.operation === "PUT" ? entry.json<RuntimeSourceRecord>() : null);
      } catch (error) {
        // What it was (if anything) no longer holds: answered 503 until a record opens.
        if (!fileSources.has(entry.key)) {
          sources.delete(entry.key);
          unreadable.add(entry.key);
        }
        log.warn(
          { source: entry.key, err: (error as Error).message },
          "runtime source could not be read; answered 503 until it can",
        );
      }
      if (!entry.delta) markReady();
    }
  }

  void (async () => {
    // The watch itself survives reconnects (an ordered consumer); this loop covers a bucket that
    // could not be opened (JetStream not up yet) or a watch that ended.
    while (!stopped) {
      try {
        await watchOnce();
      } catch (error) {
        if (!stopped) log.warn({ err: (error as Error).message }, "runtime sources watch failed; retrying");
      }
      // Until the next watch has replayed the bucket, a source created meanwhile is missing from
      // the map: not unknown (404) but not loaded yet (503), and this pod not ready.
      loaded = false;
      if (!stopped) await Bun.sleep(1000);
    }
  })();

  return {
    ready,
    loaded: () => loaded,
    unavailable: (name) => !loaded || unreadable.has(name),
    async mayArrive(name) {
      if (!loaded || unreadable.has(name)) return true;
      // Not a key the bucket can hold (KV keys: letters, digits, -/_=.): never a runtime source.
      if (fileSources.has(name) || !/^[-/_=.a-zA-Z0-9]+$/.test(name)) return false;
      // Loaded, so the watch holds the bucket open: asked directly.
      const entry = await bucket!.get(name);
      return entry?.operation === "PUT";
    },
    stop() {
      stopped = true;
      stopWatch();
      for (const timer of expiries.values()) clearTimeout(timer);
    },
  };
}
