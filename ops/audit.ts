// `hookline audit verify|report`: the operators' side of the audit trail (shared/audit/).
// Run through ops/hookline.ts.
import { parseArgs } from "node:util";
import { Presets, SingleBar } from "cli-progress";
import { csvHeader, csvRecord, reportRows } from "../shared/audit/report.ts";
import { type Anchor, chainLength, verifyChain } from "../shared/audit/verify.ts";
import type { Sql } from "../shared/db/client.ts";
import { cliDatabase, failureExit, UsageError } from "./cli.ts";

export const AUDIT_USAGE = `  hookline audit verify [--anchor SEQ:HASH]               walk the audit chain; exit 1 naming the first changed,
                                                         removed or reordered row (--anchor: a head noted earlier)
  hookline audit report --from DATE --to DATE [--format csv|json]
                                                         audit rows with from <= at < to (UTC; a bare date is its
                                                         midnight), in seq order, to stdout (default csv)`;

function parseDate(name: string, value: string | undefined): Date {
  if (!value) throw new UsageError(`--${name} is required`);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--${name} must be a date or time (ISO 8601): ${value}`);
  return date;
}

function parseAnchor(value: string | undefined): Anchor | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,18}):([0-9a-fA-F]{64})$/.exec(value);
  if (!match) throw new UsageError("--anchor must be SEQ:HASH (the hash as 64 hex digits)");
  return { seq: match[1]!, hash: match[2]!.toLowerCase() };
}

/** Writes to stdout, waiting while its buffer is full (a report can be larger than memory allows). */
async function write(chunk: string): Promise<void> {
  if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once("drain", resolve));
}

async function verify(sql: Sql, anchor: Anchor | undefined): Promise<number> {
  const total = await chainLength(sql);
  const bar = new SingleBar(
    { format: "verifying [{bar}] {value}/{total} rows", hideCursor: true, noTTYOutput: !process.stderr.isTTY },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  const result = await verifyChain(sql, {
    anchor,
    onProgress: (seq) => {
      if (seq > bar.getTotal()) bar.setTotal(seq); // appended while walking
      bar.update(seq);
    },
  });
  bar.stop();
  if (result.broken) {
    console.log(`audit chain BROKEN at seq ${result.broken.seq} (${result.broken.kind}): ${result.broken.message}`);
    console.log(`${result.rows} row(s) before it verified`);
    return 1;
  }
  if (!result.head) {
    console.log("audit chain empty: nothing to verify");
    return 0;
  }
  console.log(`audit chain intact: ${result.rows} row(s), head seq ${result.head.seq} hash ${result.head.hash}`);
  console.log(`note the head elsewhere and pass it later as --anchor ${result.head.seq}:${result.head.hash}`);
  return 0;
}

async function report(sql: Sql, from: Date, to: Date, format: "csv" | "json"): Promise<number> {
  let n = 0;
  await write(format === "csv" ? csvHeader() : "[");
  for await (const rows of reportRows(sql, from, to)) {
    const text =
      format === "csv"
        ? rows.map(csvRecord).join("")
        : rows.map((r, i) => `${n + i === 0 ? "\n" : ",\n"}${JSON.stringify(r)}`).join("");
    n += rows.length;
    await write(text);
  }
  if (format === "json") await write(n === 0 ? "]\n" : "\n]\n");
  console.error(`${n} audit row(s) from ${from.toISOString()} to ${to.toISOString()}`);
  return 0;
}

/** Runs `audit <verb> ...args`; returns the exit code. */
export async function auditCommand(args: string[]): Promise<number> {
  let sql: Sql | undefined;
  try {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        from: { type: "string" },
        to: { type: "string" },
        format: { type: "string", default: "csv" },
        anchor: { type: "string" },
      },
    });
    const [verb, ...rest] = positionals;
    if (rest.length > 0 || (verb !== "verify" && verb !== "report"))
      throw new UsageError("audit needs verify or report");
    if (verb === "verify") {
      const anchor = parseAnchor(values.anchor);
      sql = await cliDatabase();
      return await verify(sql, anchor);
    }
    const from = parseDate("from", values.from);
    const to = parseDate("to", values.to);
    if (values.format !== "csv" && values.format !== "json") throw new UsageError("--format must be csv or json");
    sql = await cliDatabase();
    return await report(sql, from, to, values.format);
  } catch (error) {
    return failureExit(error, AUDIT_USAGE);
  } finally {
    await sql?.end({ timeout: 5 });
  }
}
