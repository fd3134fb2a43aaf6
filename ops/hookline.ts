#!/usr/bin/env bun
// Operators' CLI. `bun ops/hookline.ts dlq list|replay ...`, `stream [migrate]`, `audit verify|report`,
// `tokens create|list|revoke` (or ./ops/hookline).
import { parseArgs } from "node:util";
import { jetstreamManager } from "@nats-io/jetstream";
import { Presets, SingleBar } from "cli-progress";
import { recordAudit } from "../shared/audit/writer.ts";
import { commonConfig, readConfig } from "../shared/config.ts";
import { countDeadLetters, deadLetterReplayed, readDeadLetters, replayDeadLetter } from "../shared/dead-letters.ts";
import { type connectNats, DLQ_STREAM, PROJECTOR_CONSUMER, STREAM } from "../shared/nats.ts";
import { fillOf } from "../shared/stream-fill.ts";
import { consumerConfigSpec, streamConfigSpec } from "../shared/stream-limits.ts";
import { AUDIT_USAGE, auditCommand } from "./audit.ts";
import { cliActor, cliDatabase, cliNats } from "./cli.ts";
import { KEYS_USAGE, keysCommand } from "./keys.ts";
import { PATIENTS_USAGE, patientsCommand } from "./patients.ts";
import { REPROJECT_USAGE, reprojectCommand } from "./reproject.ts";
import { migrateWebhookStream } from "./stream-migrate.ts";
import { TOKENS_USAGE, tokensCommand } from "./tokens.ts";

const USAGE = `usage:
  hookline dlq list   [--source S] [--code C] [--json]     list dead letters (oldest first)
  hookline dlq replay (--all | --seq N) [--source S] [--code C]
                                                         republish to the original subject, then delete
  hookline stream [--json]                                 how full WEBHOOKS and WEBHOOKS_DLQ are, limits, projector lag
  hookline stream migrate [--timeout SECONDS]              make a WEBHOOKS of an earlier version (limits retention) a work
                                                         queue: seal it, wait for the projector, recreate (default 600 s)
${AUDIT_USAGE}
${TOKENS_USAGE}
${KEYS_USAGE}
${PATIENTS_USAGE}
${REPROJECT_USAGE}
env: NATS_URL (default nats://127.0.0.1:4222); DATABASE_URL for audit, tokens, replay and migrate (each change
     recorded in the audit trail); for migrate also ${Object.values({ ...streamConfigSpec, ...consumerConfigSpec })
       .map((e) => e.name)
       .join(", ")}
     as the services have them`;

// Its own options: dispatched before this file's parseArgs would refuse them.
if (process.argv[2] === "audit") process.exit(await auditCommand(process.argv.slice(3)));
if (process.argv[2] === "tokens") process.exit(await tokensCommand(process.argv.slice(3)));
if (process.argv[2] === "keys") process.exit(await keysCommand(process.argv.slice(3)));
if (process.argv[2] === "patients") process.exit(await patientsCommand(process.argv.slice(3)));
if (process.argv[2] === "reproject") process.exit(await reprojectCommand(process.argv.slice(3)));

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    source: { type: "string" },
    code: { type: "string" },
    seq: { type: "string" },
    all: { type: "boolean", default: false },
    timeout: { type: "string", default: "600" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

const [area, verb] = positionals;
const valid =
  (area === "dlq" && (verb === "list" || verb === "replay")) ||
  (area === "stream" && (verb === undefined || verb === "migrate"));
if (values.help || !valid) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 2);
}
if (area === "stream") {
  await streamCommand(verb);
  process.exit(process.exitCode ?? 0);
}
if (verb === "replay" && !values.all && !values.seq) {
  console.error("replay needs --all or --seq N (with optional --source/--code filters)");
  process.exit(2);
}
const seq = values.seq ? Number(values.seq) : undefined;
if (values.seq && !Number.isInteger(seq)) {
  console.error("--seq must be a whole number");
  process.exit(2);
}

const nc = await cliNats();
const filter = { source: values.source, code: values.code, seq };

if (verb === "list") {
  let n = 0;
  for await (const { letter } of readDeadLetters(nc, filter)) {
    n++;
    if (values.json) console.log(JSON.stringify(letter));
    else
      console.log(
        `${letter.seq}\t${letter.storedAt}\t${letter.subject}\t${letter.code ?? "-"}\t${letter.reason ?? ""}`,
      );
  }
  if (!values.json) console.error(`${n} dead letter(s)`);
} else {
  // Connected before anything is replayed: a replay that could not be audited is not started.
  const sql = await cliDatabase();
  await sql`select 1`;
  const actor = cliActor();
  const total = seq ? 1 : await countDeadLetters(nc);
  const bar = new SingleBar(
    {
      format: "replaying [{bar}] {value}/{total} scanned, {replayed} replayed",
      hideCursor: true,
      noTTYOutput: !process.stderr.isTTY,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0, { replayed: 0 });
  let replayed = 0;
  let failed = 0;
  for await (const { msg, letter } of readDeadLetters(nc, filter)) {
    let to: { seq: number } | undefined;
    try {
      to = await replayDeadLetter(nc, msg);
      replayed++;
    } catch (error) {
      failed++;
      console.error(`\nseq ${msg.seq}: ${(error as Error).message}`);
    }
    // Not caught: a replay left out of the audit trail stops the run.
    if (to) await sql.begin((tx) => recordAudit(tx, deadLetterReplayed(actor, letter, to.seq)));
    bar.increment(1, { replayed });
  }
  bar.update(total, { replayed });
  bar.stop();
  await sql.end({ timeout: 5 });
  console.log(`${replayed} replayed, ${failed} failed`);
  if (failed) process.exitCode = 1;
  // --seq names one letter (replayed already, expired, or filtered out): nothing done is a failure.
  if (seq !== undefined && replayed + failed === 0) {
    console.error(`no dead letter ${seq}${filter.source || filter.code ? " matching the filters" : ""}`);
    process.exitCode = 1;
  }
}
await nc.close();

async function streamCommand(verb: string | undefined): Promise<void> {
  const config = readConfig({ ...commonConfig, ...streamConfigSpec, ...consumerConfigSpec });
  const nc = await cliNats();
  try {
    if (verb === "migrate") {
      const timeout = Number(values.timeout);
      if (!Number.isInteger(timeout) || timeout < 0) throw new Error("--timeout must be whole seconds");
      const sql = await cliDatabase(); // reached before the stream is touched: the migration is audited
      await sql`select 1`;
      let shown = -1;
      const result = await migrateWebhookStream(nc, config, {
        timeoutMs: timeout * 1000,
        onWaiting: (n) => {
          if (n !== shown)
            console.error(`${STREAM} sealed; waiting for the projector: ${n} message(s) not yet acknowledged`);
          shown = n;
        },
      });
      if (result !== "already") {
        const entry = { actor: cliActor(), action: "stream.migrate", entityType: "stream", entityId: STREAM };
        await sql.begin((tx) => recordAudit(tx, { ...entry, details: { to: "workqueue" } }));
      }
      await sql.end({ timeout: 5 });
      console.log(
        result === "already"
          ? `${STREAM} is already a work queue; nothing to do`
          : `${STREAM} recreated as a work queue; restart the projectors so they read from it`,
      );
      return;
    }
    await printStreams(nc);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    console.error(`${code ? `${code}: ` : ""}${(error as Error).message}`);
    process.exitCode = 1;
  } finally {
    await nc.close();
  }
}

async function printStreams(nc: Awaited<ReturnType<typeof connectNats>>): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const rows = [];
  for (const name of [STREAM, DLQ_STREAM]) {
    const info = await jsm.streams.info(name).catch(() => null);
    if (!info) {
      rows.push({ stream: name, missing: true as const });
      continue;
    }
    const consumer = name === STREAM ? await jsm.consumers.info(name, PROJECTOR_CONSUMER).catch(() => null) : null;
    rows.push({
      ...fillOf(info),
      retention: info.config.retention,
      discard: info.config.discard,
      maxAgeSeconds: info.config.max_age / 1e9,
      ...(consumer ? { projectorPending: consumer.num_pending, projectorAckPending: consumer.num_ack_pending } : {}),
    });
  }
  if (values.json) {
    for (const r of rows) console.log(JSON.stringify(r));
    return;
  }
  const size = (n: number) =>
    n < 0
      ? "no limit"
      : n >= 1024 ** 3
        ? `${(n / 1024 ** 3).toFixed(2)} GiB`
        : n >= 1024 ** 2
          ? `${(n / 1024 ** 2).toFixed(1)} MiB`
          : `${(n / 1024).toFixed(1)} KiB`;
  for (const r of rows) {
    if ("missing" in r) {
      console.log(`${r.stream}: missing (./ops/provision.ts or a starting service creates it)`);
      continue;
    }
    const age = r.maxAgeSeconds > 0 ? `${(r.maxAgeSeconds / 86_400).toFixed(1)} days` : "forever";
    console.log(`${r.stream} (${r.retention}, discard ${r.discard}, kept ${age})`);
    console.log(
      `  ${r.messages} message(s), ${size(r.bytes)} of ${size(r.maxBytes)}; message limit ${r.maxMsgs < 0 ? "none" : r.maxMsgs}; ${(r.fillRatio * 100).toFixed(1)}% full${r.fillRatio >= 1 ? " (REFUSING new messages)" : ""}`,
    );
    if ("projectorPending" in r)
      console.log(
        `  projector: ${r.projectorPending} not yet delivered, ${r.projectorAckPending} delivered and awaiting ack`,
      );
  }
}
