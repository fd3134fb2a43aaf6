// `hookline keys new|status|rotate`: the keys that seal patient data at rest (shared/crypto/,
// README "Security"). Rotation moves every sealed row to the keyring's current key online, in
// short batches, while ingest and the dashboard keep running (shared/db/rotate.ts); it is
// resumable (a rerun finds the rows still left) and recorded in the audit trail. Run through
// ops/hookline.ts.
import { parseArgs } from "node:util";
import { Presets, SingleBar } from "cli-progress";
import { resealSourceSecrets } from "../services/dashboard/sources.ts";
import { recordAudit } from "../shared/audit/writer.ts";
import { commonConfig, keyringConfig, readConfig } from "../shared/config.ts";
import { keyAges } from "../shared/crypto/key-age.ts";
import { newKeyText } from "../shared/crypto/keyring.ts";
import { type Keys, loadKeys } from "../shared/crypto/keys.ts";
import type { Sql } from "../shared/db/client.ts";
import { countPending, type RotationTarget, rotateTable } from "../shared/db/rotate.ts";
import { SEALED_TABLES } from "../shared/db/sealed.ts";
import { cliActor, cliDatabase, failureExit, UsageError } from "./cli.ts";

export const KEYS_USAGE = `  hookline keys new ID                                     a new key line (id:base64key:createdAt) to put first in
                                                         HOOKLINE_KEYS or HOOKLINE_BLIND_INDEX_KEY
  hookline keys status                                     the current keys, their age, rows still on older keys
  hookline keys rotate [--blind-index] [--batch-size N]    re-seal every row still on an older data key (or, with
                                                         --blind-index, rebuild the email/phone indexes under the
                                                         current index key), online, resumable; then remove the old
                                                         key from the keyring
  (keys: HOOKLINE_KEYS[_FILE], HOOKLINE_BLIND_INDEX_KEY[_FILE] as the services have them)`;

function readKeys(): Keys {
  const c = readConfig({ hooklineEnv: commonConfig.hooklineEnv, ...keyringConfig });
  return loadKeys(c);
}

const describe = (target: RotationTarget) => (target.blindIndex ? "blind-index key" : "data key");

async function status(sql: Sql, keys: Keys): Promise<number> {
  for (const [name, age] of Object.entries(keyAges(keys))) {
    console.log(
      `${name}: current "${age.current}", ${age.ageDays} day(s) old${age.warning ? ` — ${age.warning}` : ""}; ${age.keys} key(s) in the keyring`,
    );
  }
  for (const target of [
    { data: true, blindIndex: false },
    { data: false, blindIndex: true },
  ]) {
    for (const table of SEALED_TABLES) {
      if (target.blindIndex && table.blindIndexes.length === 0) continue;
      const n = await countPending(sql, keys, table, target);
      if (n > 0)
        console.log(
          `${table.table}: ${n} row(s) not on the current ${describe(target)}${target.data ? " (or stored by an earlier version: in clear, or field by field)" : ""}`,
        );
    }
  }
  return 0;
}

async function rotate(sql: Sql, keys: Keys, target: RotationTarget, batchSize: number): Promise<number> {
  const tables = SEALED_TABLES.filter((t) => target.data || t.blindIndexes.length > 0);
  const pending = await Promise.all(tables.map((t) => countPending(sql, keys, t, target)));
  const total = pending.reduce((a, b) => a + b, 0);
  const current = target.blindIndex ? keys.blindIndex.current.id : keys.data.current.id;
  console.error(`${total} row(s) to move to ${describe(target)} "${current}"`);
  const bar = new SingleBar(
    {
      format: "rotating [{bar}] {value}/{total} rows {table}",
      hideCursor: true,
      noTTYOutput: !process.stderr.isTTY,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0, { table: "" });
  let moved = 0;
  const rows: Record<string, number> = {};
  const left: Record<string, number> = {};
  for (const table of tables) {
    bar.update({ table: table.table });
    const result = await rotateTable(sql, keys, table, target, {
      batchSize,
      // Rows written meanwhile under an old key (a pod not yet restarted with the new keyring) join the total.
      onBatch: (n) => {
        moved += n;
        if (moved > bar.getTotal()) bar.setTotal(moved);
        bar.increment(n);
      },
    });
    rows[table.table] = result.rewritten;
    if (result.left > 0) left[table.table] = result.left;
  }
  bar.stop();
  // Runtime sources' secrets (services/dashboard/sources.ts); the dashboards republish them within 30 s.
  if (target.data) rows.sources = await resealSourceSecrets(sql, keys.data);
  const entry = {
    actor: cliActor(),
    action: target.blindIndex ? "keys.rotate_blind_index" : "keys.rotate",
    entityType: "keyring",
    entityId: current,
    details: { rows, ...(Object.keys(left).length ? { left } : {}) },
  };
  await sql.begin((tx) => recordAudit(tx, entry));
  const done = Object.values(rows).reduce((a, b) => a + b, 0);
  if (Object.keys(left).length) {
    console.log(
      `${done} row(s) moved; still on an older key: ${Object.entries(left)
        .map(([t, n]) => `${t} ${n}`)
        .join(", ")}. Is a service still running with the old keyring? Restart it, then run this again.`,
    );
    return 1;
  }
  const old = (target.blindIndex ? keys.blindIndex : keys.data).keys.slice(1).map((k) => k.id);
  console.log(
    `${done} row(s) moved; every row is on ${describe(target)} "${current}".` +
      (old.length ? ` The older key(s) ${old.join(", ")} can now be removed from the keyring.` : ""),
  );
  return 0;
}

/** Runs `keys <verb> ...args`; returns the exit code. */
export async function keysCommand(args: string[]): Promise<number> {
  let sql: Sql | undefined;
  try {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        "blind-index": { type: "boolean", default: false },
        "batch-size": { type: "string", default: "500" },
      },
    });
    const [verb, ...rest] = positionals;
    if (verb === "new") {
      if (rest.length !== 1) throw new UsageError("keys new needs the new key's ID");
      console.log(newKeyText(rest[0]!));
      console.error(
        `put it first in HOOKLINE_KEYS (or HOOKLINE_BLIND_INDEX_KEY), keep the old key(s) after it, restart the services, then run "hookline keys rotate"`,
      );
      return 0;
    }
    if (rest.length > 0 || (verb !== "status" && verb !== "rotate"))
      throw new UsageError("keys needs new, status or rotate");
    const batchSize = Number(values["batch-size"]);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
      throw new UsageError("--batch-size must be a whole number from 1 to 10000");
    const keys = readKeys();
    sql = await cliDatabase();
    if (verb === "status") return await status(sql, keys);
    const blindIndex = values["blind-index"];
    return await rotate(sql, keys, { data: !blindIndex, blindIndex }, batchSize);
  } catch (error) {
    return failureExit(error, KEYS_USAGE);
  } finally {
    await sql?.end({ timeout: 5 });
  }
}
