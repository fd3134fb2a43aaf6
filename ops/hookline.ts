#!/usr/bin/env bun
// Operators' CLI. `bun ops/hookline.ts dlq list|replay ...` (or ./ops/hookline).
import { parseArgs } from "node:util";
import { SingleBar, Presets } from "cli-progress";
import { commonConfig, readConfig } from "../shared/config.ts";
import { countDeadLetters, readDeadLetters, replayDeadLetter } from "../shared/dead-letters.ts";
import { createLogger } from "../shared/logger.ts";
import { connectNats } from "../shared/nats.ts";

const USAGE = `usage:
  hookline dlq list   [--source S] [--code C] [--json]     list dead letters (oldest first)
  hookline dlq replay (--all | --seq N) [--source S] [--code C]
                                                         republish to the original subject, then delete
env: NATS_URL (default nats://127.0.0.1:4222)`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    source: { type: "string" },
    code: { type: "string" },
    seq: { type: "string" },
    all: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

const [area, verb] = positionals;
if (values.help || area !== "dlq" || (verb !== "list" && verb !== "replay")) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 2);
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

const config = readConfig(commonConfig);
const nc = await connectNats(config.natsUrl, "hookline-cli", createLogger("cli", "warn"));
const filter = { source: values.source, code: values.code, seq };

if (verb === "list") {
  let n = 0;
  for await (const { letter } of readDeadLetters(nc, filter)) {
    n++;
    if (values.json) console.log(JSON.stringify(letter));
    else console.log(`${letter.seq}\t${letter.storedAt}\t${letter.subject}\t${letter.code ?? "-"}\t${letter.reason ?? ""}`);
  }
  if (!values.json) console.error(`${n} dead letter(s)`);
} else {
  const total = seq ? 1 : await countDeadLetters(nc);
  const bar = new SingleBar({ format: "replaying [{bar}] {value}/{total} scanned, {replayed} replayed", hideCursor: true, noTTYOutput: !process.stderr.isTTY }, Presets.shades_classic);
  bar.start(total, 0, { replayed: 0 });
  let replayed = 0;
  let failed = 0;
  for await (const { msg } of readDeadLetters(nc, filter)) {
    try {
      await replayDeadLetter(nc, msg);
      replayed++;
    } catch (error) {
      failed++;
      console.error(`\nseq ${msg.seq}: ${(error as Error).message}`);
    }
    bar.increment(1, { replayed });
  }
  bar.update(total, { replayed });
  bar.stop();
  console.log(`${replayed} replayed, ${failed} failed`);
  if (failed) process.exitCode = 1;
}
await nc.close();
