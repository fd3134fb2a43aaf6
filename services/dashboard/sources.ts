// Runtime sources on the dashboard's side: stored in Postgres (migration 011, secrets sealed),
// published to the NATS KV bucket every ingress and projector pod watches
// (shared/sources/runtime.ts), and listed with their health. Each change is written to the
// bucket inside the transaction that stores it, so a change the API confirmed has reached the
// bucket, and one the bucket refused is not stored. Every dashboard also brings the bucket in
// step with Postgres at start and every half minute (keepRegistryInStep): a bucket lost or
// recreated, a record whose transaction failed after it was written, and secrets re-sealed by
// `hookline keys rotate` reach the pods without anyone restarting anything.
import { randomBytes } from "node:crypto";
import { AckPolicy, DeliverPolicy, jetstreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { type NatsConnection, nanos } from "@nats-io/nats-core";
import type { Sql, TransactionSql } from "postgres";
import type { Keyring } from "../../shared/crypto/keyring.ts";
import { STANDARD_SECRET_PREFIX } from "../../shared/crypto/standard-webhooks.ts";
import type { Logger } from "../../shared/logger.ts";
import { DLQ_STREAM, dlqSubjectsOf, openSourcesBucket } from "../../shared/nats.ts";
import {
  HEYFLOW_TOKEN_HEADER,
  openSecrets,
  type RuntimeSourceRecord,
  type RuntimeSourceType,
  type SourceSecret,
  sealSecrets,
} from "../../shared/sources/runtime.ts";

/** How long a rotated-out secret keeps working beside the new one (senders switch within it). */
const ROTATION_OVERLAP_MS = 24 * 3600_000;

/** A new secret in the form the source's tool expects. */
export function newSecret(type: RuntimeSourceType): string {
  // Standard Webhooks: whsec_ + base64 of 32 random bytes (the spec's 24-64).
  if (type === "google-forms" || type === "generic")
    return `${STANDARD_SECRET_PREFIX}${randomBytes(32).toString("base64")}`;
  // Typeform's secret and HeyFlow's token are typed into the tool's settings: URL-safe text.
  return randomBytes(32).toString("base64url");
}

/** The webhook URL of a source, under the public base (PUBLIC_WEBHOOK_BASE_URL). */
export const webhookUrl = (base: string, name: string) => `${base.replace(/\/+$/, "")}/v1/webhooks/${name}`;

/** The copyable steps to connect the tool to hookline, for the Add New Client modal. */
export function setupSteps(type: RuntimeSourceType, url: string): string[] {
  switch (type) {
    case "heyflow":
      return [
        `In HeyFlow: Flow → Integrate → Webhooks → add the URL ${url}.`,
        `Add a header ${HEYFLOW_TOKEN_HEADER}: <the token shown here>. If the integration cannot set headers, use Basic auth with any user name and the token as password.`,
        "Send a test submission and look it up in the dashboard.",
      ];
    case "typeform":
      return [
        `In Typeform: your form → Connect → Webhooks → Add a webhook → URL ${url}.`,
        "Edit → Secret: paste the secret shown here.",
        '"View deliveries" → "Send test request" must show 200.',
      ];
    case "google-forms":
      return [
        "Open the form in edit mode → ⋮ → Script editor. Replace Code.gs with the contents of ops/google-forms/Code.gs and save.",
        `Project Settings → Script Properties → add HOOKLINE_URL = ${url} and HOOKLINE_SECRET = the secret shown here (never in the code).`,
        "Select installTrigger → Run, and grant the permissions (this creates the 'On form submit' trigger).",
        "Submit a test response; Executions shows each run and its HTTP status.",
      ];
    case "generic":
      return [
        `POST each submission as JSON to ${url}.`,
        "Sign it with Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256>) using the secret shown here.",
        "Send a test submission: the answer is 200 with the event id.",
      ];
  }
}

/** A source as the API shows it (never its secrets). */
export interface SourceView {
  name: string;
  type: RuntimeSourceType;
  clientId: string;
  enabled: boolean;
  createdAt: string;
  rotatedAt: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toView(r: Record<string, unknown>): SourceView {
  return {
    name: r.name as string,
    type: r.type as RuntimeSourceType,
    clientId: String(r.client_id),
    enabled: r.enabled as boolean,
    createdAt: (r.created_at as Date).toISOString(),
    rotatedAt: iso(r.rotated_at as Date | null),
  };
}

/** Where the dashboard publishes sources: the bucket, reached over a connection opened on first use. */
export interface SourceRegistry {
  put(record: RuntimeSourceRecord): Promise<void>;
  /** Every record in the bucket (for keepRegistryInStep). */
  all?(): Promise<Map<string, RuntimeSourceRecord>>;
  remove?(name: string): Promise<void>;
}

/**
 * The bucket behind a NATS connection made when first needed (the dashboard serves patients
 * without NATS; only changing a source needs it). A failed connection is tried again next time.
 */
export function natsSourceRegistry(connect: () => Promise<NatsConnection>): SourceRegistry & {
  errorsLast24h(sources: string[]): Promise<Map<string, number>>;
  close(): Promise<void>;
} {
  let connection: Promise<NatsConnection> | undefined;
  let kv: Promise<KV> | undefined;
  const connected = () => {
    connection ??= connect();
    connection.catch(() => {
      connection = undefined;
    });
    return connection;
  };
  const bucket = () => {
    kv ??= connected().then(openSourcesBucket);
    kv.catch(() => {
      kv = undefined;
    });
    return kv;
  };
  return {
    async put(record) {
      await (await bucket()).put(record.name, JSON.stringify(record));
    },
    async all() {
      const kv = await bucket();
      const records = new Map<string, RuntimeSourceRecord>();
      for await (const name of await kv.keys()) {
        const entry = await kv.get(name);
        if (entry?.operation === "PUT") records.set(name, entry.json<RuntimeSourceRecord>());
      }
      return records;
    },
    async remove(name) {
      await (await bucket()).delete(name);
    },
    errorsLast24h: async (sources) => deadLettersSince(await connected(), sources, Date.now() - 24 * 3600_000),
    async close() {
      const nc = await connection?.catch(() => undefined);
      await nc?.drain().catch(() => {});
    },
  };
}

/**
 * Dead letters (both stages) per source stored since `since`: the pending count of a throwaway
 * consumer starting at that time, one per source, so no message is read.
 */
async function deadLettersSince(nc: NatsConnection, sources: string[], since: number): Promise<Map<string, number>> {
  const jsm = await jetstreamManager(nc);
  const counts = new Map<string, number>();
  for (const source of sources) {
    const info = await jsm.consumers.add(DLQ_STREAM, {
      filter_subject: dlqSubjectsOf(source),
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(since).toISOString(),
      ack_policy: AckPolicy.None,
      mem_storage: true,
      inactive_threshold: nanos(10_000),
    });
    counts.set(source, info.num_pending);
    await jsm.consumers.delete(DLQ_STREAM, info.name).catch(() => {});
  }
  return counts;
}

export class SourceError extends Error {
  constructor(
    readonly code: "source_name_taken" | "source_not_found" | "client_not_found" | "registry_unavailable",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const COLUMNS = "name, type, client_id, enabled, created_at, rotated_at, secrets_enc";

/** The record the bucket gets for a stored source row. */
const recordOf = (r: Record<string, unknown>): RuntimeSourceRecord => ({
  name: r.name as string,
  type: r.type as RuntimeSourceType,
  clientId: String(r.client_id),
  enabled: r.enabled as boolean,
  secrets: Buffer.from(r.secrets_enc as Uint8Array).toString("base64"),
  updatedAt: new Date().toISOString(),
});

/** Publishes `row` within the caller's transaction: a refusal rolls the change back (503 for the API). */
async function publish(registry: SourceRegistry, row: Record<string, unknown>): Promise<void> {
  try {
    await registry.put(recordOf(row));
  } catch (error) {
    throw new SourceError(
      "registry_unavailable",
      "the sources registry (NATS) did not confirm the change; nothing was changed, retry",
      { cause: error },
    );
  }
}

/**
 * Stores a new source for `clientId` with a fresh secret and publishes it; returns the source
 * and its secret (the only time the secret leaves the server).
 */
export async function createSource(
  tx: TransactionSql,
  deps: { keyring: Keyring; registry: SourceRegistry; fileSources: ReadonlySet<string> },
  input: { name: string; type: RuntimeSourceType; clientId: string },
): Promise<{ source: SourceView; secret: string }> {
  if (deps.fileSources.has(input.name))
    throw new SourceError("source_name_taken", `source "${input.name}" is defined in the sources file`);
  const secret = newSecret(input.type);
  const sealed = sealSecrets(deps.keyring, [{ value: secret, expiresAt: null }]);
  let row: Record<string, unknown> | undefined;
  try {
    [row] = await tx`
      insert into sources (name, type, client_id, secrets_enc)
      values (${input.name}, ${input.type}, ${input.clientId}::bigint, ${sealed})
      on conflict (name) do nothing
      returning ${tx.unsafe(COLUMNS)}`;
  } catch (error) {
    if ((error as { code?: string }).code === "23503")
      throw new SourceError("client_not_found", `no client ${input.clientId}`, { cause: error });
    throw error;
  }
  if (!row) throw new SourceError("source_name_taken", `a source is named "${input.name}" already`);
  await publish(deps.registry, row);
  return { source: toView(row), secret };
}

/** Whether a source of this name exists, in the sources file or the database (any client's). */
export async function sourceNameTaken(sql: Sql | TransactionSql, fileSources: ReadonlySet<string>, name: string) {
  if (fileSources.has(name)) return true;
  // Whatever the caller's scope: names are unique across clients.
  const [row] = await sql`select exists (select 1 from sources where name = ${name}) as taken`;
  return row!.taken as boolean;
}

/** Replaces the secret: the new one is current, the old one works until the overlap ends. */
export async function rotateSecret(
  tx: TransactionSql,
  deps: { keyring: Keyring; registry: SourceRegistry },
  name: string,
  now = Date.now(),
): Promise<{ secret: string; previousExpiresAt: string }> {
  const [current] = await tx`select ${tx.unsafe(COLUMNS)} from sources where name = ${name} for update`;
  if (!current) throw new SourceError("source_not_found", `no runtime source "${name}"`);
  const [active] = openSecrets(deps.keyring, current.secrets_enc as Uint8Array) as [SourceSecret];
  const secret = newSecret(current.type as RuntimeSourceType);
  const previousExpiresAt = new Date(now + ROTATION_OVERLAP_MS).toISOString();
  // Two at most, as in the sources file: the new one and the one it replaces (an older one ends now).
  const sealed = sealSecrets(deps.keyring, [
    { value: secret, expiresAt: null },
    { value: active.value, expiresAt: previousExpiresAt },
  ]);
  const [row] = await tx`
    update sources set secrets_enc = ${sealed}, rotated_at = now(), updated_at = now()
    where name = ${name} returning ${tx.unsafe(COLUMNS)}`;
  await publish(deps.registry, row!);
  return { secret, previousExpiresAt };
}

export async function setEnabled(
  tx: TransactionSql,
  registry: SourceRegistry,
  name: string,
  enabled: boolean,
): Promise<SourceView> {
  const [row] = await tx`
    update sources set enabled = ${enabled}, updated_at = now()
    where name = ${name} returning ${tx.unsafe(COLUMNS)}`;
  if (!row) throw new SourceError("source_not_found", `no runtime source "${name}"`);
  await publish(registry, row);
  return toView(row);
}

/** The runtime sources the transaction's scope sees, by client. */
export async function listSources(tx: Sql | TransactionSql): Promise<SourceView[]> {
  const rows = await tx`select ${tx.unsafe(COLUMNS)} from sources order by client_id, name`;
  return rows.map(toView);
}

/** Per source (as the scope sees its events): the last event and the events of the last 24 hours. */
export async function sourceActivity(
  tx: Sql | TransactionSql,
  names: string[],
): Promise<Map<string, { lastEventAt: string | null; eventsLast24h: number }>> {
  if (names.length === 0) return new Map();
  // One index probe a source (webhook_events_source_received), not a scan of the table.
  const rows = await tx`
    select n.name,
      (select max(e.received_at) from webhook_events e where e.source = n.name) as last_event_at,
      (select count(*)::int from webhook_events e
        where e.source = n.name and e.received_at > now() - interval '24 hours') as events_24h
    from unnest(${names}::text[]) as n(name)`;
  return new Map(
    rows.map((r) => [r.name as string, { lastEventAt: iso(r.last_event_at), eventsLast24h: r.events_24h as number }]),
  );
}

/** Whether the bucket's record says what the row says (its time aside). */
const sameRecord = (a: RuntimeSourceRecord, b: RuntimeSourceRecord) =>
  a.type === b.type && a.clientId === b.clientId && a.enabled === b.enabled && a.secrets === b.secrets;

/**
 * One round: every stored source whose record is missing or differs is written again, and a
 * record with no row (its transaction rolled back after the write) is removed. Returns what it changed.
 * A record that differs but was published less than a minute ago is left for a later round: a
 * change (rotate, disable) publishes inside its transaction, so the rows read here can be older
 * than it, and writing them would undo it on every pod until the next round.
 */
export async function reconcileRegistry(sql: Sql, registry: SourceRegistry): Promise<{ put: number; removed: number }> {
  const rows = await sql`select ${sql.unsafe(COLUMNS)} from sources`;
  const published = (await registry.all?.()) ?? new Map<string, RuntimeSourceRecord>();
  const recent = Date.now() - 60_000;
  let put = 0;
  for (const row of rows) {
    const record = recordOf(row);
    const current = published.get(record.name);
    if (current && (sameRecord(current, record) || Date.parse(current.updatedAt) > recent)) continue;
    await registry.put(record);
    put++;
  }
  const stored = new Set(rows.map((r) => r.name as string));
  let removed = 0;
  // Only records older than a few minutes: a younger one may belong to a transaction still open.
  const settled = Date.now() - 5 * 60_000;
  for (const [name, record] of published)
    if (!stored.has(name) && registry.remove && Date.parse(record.updatedAt) < settled) {
      await registry.remove(name);
      removed++;
    }
  return { put, removed };
}

/** Reconciles at start and then every `everyMs` until stopped; failures are logged and retried next round. */
export function keepRegistryInStep(sql: Sql, registry: SourceRegistry, log: Logger, everyMs = 30_000): () => void {
  let stopped = false;
  let failing = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const round = async () => {
    try {
      const { put, removed } = await reconcileRegistry(sql, registry);
      if (put || removed) log.info({ put, removed }, "runtime sources registry brought in step with the database");
      if (failing) log.info("runtime sources registry reachable again");
      failing = false;
    } catch (error) {
      // Once per outage, not every round.
      if (!failing) log.warn({ err: (error as Error).message }, "runtime sources registry not in step; retrying");
      failing = true;
    }
    if (!stopped) timer = setTimeout(round, everyMs);
  };
  void round();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Re-seals every source's secrets still on an older data key (`hookline keys rotate`); returns how many. */
export async function resealSourceSecrets(sql: Sql, keyring: Keyring): Promise<number> {
  return await sql.begin(async (tx) => {
    const rows = await tx`
      select name, secrets_enc from sources where hookline_key_id(secrets_enc) <> ${keyring.current.id} for update`;
    for (const r of rows) {
      const sealed = sealSecrets(keyring, openSecrets(keyring, r.secrets_enc as Uint8Array));
      await tx`update sources set secrets_enc = ${sealed}, updated_at = now() where name = ${r.name}`;
    }
    return rows.length;
  });
}
