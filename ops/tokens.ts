// `hookline tokens create|list|revoke`: the dashboard API's tokens (services/dashboard/tokens.ts,
// migration 007). A token is printed once, by create; the database keeps only its SHA-256.
// Each change is recorded in the audit trail with the operator as actor. Run through ops/hookline.ts.
import { parseArgs } from "node:util";
import {
  createToken,
  listTokens,
  parseExpiresIn,
  revokeToken,
  type TokenRecord,
} from "../services/dashboard/tokens.ts";
import { recordAudit } from "../shared/audit/writer.ts";
import type { Sql } from "../shared/db/client.ts";
import { cliActor, cliDatabase, failureExit, UsageError } from "./cli.ts";

export const TOKENS_USAGE = `  hookline tokens create --name NAME --role viewer|editor|admin [--expires-in 90d] [--client ID] [--json]
                                                         a dashboard API token, printed once (stdout; details on
                                                         stderr); --expires-in m|h|d|w; roles viewer < editor < admin;
                                                         --client: sees only that client's data (row-level security)
  hookline tokens list [--json]                            every token (never the token itself): role, status, last use
  hookline tokens revoke ID|NAME [--json]                  refused by every dashboard pod within 5 seconds`;

const statusOf = (t: TokenRecord, now = Date.now()) =>
  t.revokedAt ? "revoked" : t.expiresAt && Date.parse(t.expiresAt) <= now ? "expired" : "active";

const auditDetails = (t: TokenRecord) => ({ name: t.name, role: t.role, expiresAt: t.expiresAt, clientId: t.clientId });

async function create(
  sql: Sql,
  values: { name?: string; role?: string; "expires-in"?: string; client?: string; json: boolean },
) {
  if (!values.name) throw new UsageError("tokens create needs --name");
  if (!values.role) throw new UsageError("tokens create needs --role viewer, editor or admin");
  const expiresInMs = values["expires-in"] === undefined ? undefined : parseExpiresIn(values["expires-in"]);
  const actor = cliActor();
  // One transaction: a token exists exactly when its creation is in the audit trail.
  const { token, record } = await sql.begin(async (tx) => {
    const created = await createToken(tx, {
      name: values.name!,
      role: values.role!,
      createdBy: actor,
      expiresInMs,
      clientId: values.client,
    });
    const { record } = created;
    const entry = { entityType: "dashboard_token", entityId: record.id, details: auditDetails(record) };
    await recordAudit(tx, { actor, action: "token.create", ...entry });
    return created;
  });
  if (values.json) {
    console.log(JSON.stringify({ ...record, token }));
    return;
  }
  console.log(token);
  console.error(
    `created token ${record.id} "${record.name}" (role ${record.role}${record.clientId ? `, client ${record.clientId} only` : ""}, ${record.expiresAt ? `expires ${record.expiresAt}` : "no expiry"}); ` +
      "it is shown only now: store it in a secret manager",
  );
}

async function list(sql: Sql, json: boolean) {
  const tokens = await listTokens(sql);
  if (json) {
    for (const t of tokens) console.log(JSON.stringify({ ...t, status: statusOf(t) }));
    return;
  }
  const rows = [
    ["ID", "NAME", "ROLE", "CLIENT", "STATUS", "CREATED", "BY", "LAST USED", "EXPIRES"],
    ...tokens.map((t) => [
      t.id,
      t.name,
      t.role,
      t.clientId ?? "all",
      statusOf(t),
      t.createdAt.slice(0, 16),
      t.createdBy,
      t.lastUsedAt?.slice(0, 16) ?? "never",
      t.expiresAt?.slice(0, 16) ?? "-",
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    console.log(
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );
  console.error(`${tokens.length} token(s)`);
}

async function revoke(sql: Sql, idOrName: string, json: boolean): Promise<number> {
  const actor = cliActor();
  const result = await sql.begin(async (tx) => {
    const outcome = await revokeToken(tx, idOrName);
    if (outcome && !outcome.already) {
      const { record } = outcome;
      const entry = { entityType: "dashboard_token", entityId: record.id, details: auditDetails(record) };
      await recordAudit(tx, { actor, action: "token.revoke", ...entry });
    }
    return outcome;
  });
  if (!result) {
    console.error(`no token with id or name ${JSON.stringify(idOrName)} (see hookline tokens list)`);
    return 1;
  }
  const { record, already } = result;
  if (json) console.log(JSON.stringify({ ...record, status: statusOf(record), alreadyRevoked: already }));
  else if (already) console.log(`token ${record.id} "${record.name}" was already revoked (${record.revokedAt})`);
  else console.log(`revoked token ${record.id} "${record.name}"; dashboard pods refuse it within 5 seconds`);
  return 0;
}

/** Runs `tokens <verb> ...args`; returns the exit code (2 for a usage error). */
export async function tokensCommand(args: string[]): Promise<number> {
  let sql: Sql | undefined;
  try {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        name: { type: "string" },
        role: { type: "string" },
        "expires-in": { type: "string" },
        client: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      console.log(`usage:\n${TOKENS_USAGE}`);
      return 0;
    }
    const [verb, ...rest] = positionals;
    if (verb === "create" && rest.length === 0) {
      // Checked before connecting: a usage error needs no database.
      if (values["expires-in"] !== undefined) parseExpiresIn(values["expires-in"]);
      sql = await cliDatabase();
      await create(sql, values);
      return 0;
    }
    if (verb === "list" && rest.length === 0) {
      sql = await cliDatabase();
      await list(sql, values.json);
      return 0;
    }
    if (verb === "revoke" && rest.length === 1) {
      sql = await cliDatabase();
      return await revoke(sql, rest[0]!, values.json);
    }
    throw new UsageError(
      verb === "revoke" ? "tokens revoke needs one ID or NAME" : "tokens needs create, list or revoke",
    );
  } catch (error) {
    // A bad name or role from the tokens module is a usage error too.
    return failureExit(error, TOKENS_USAGE, ["usage", "invalid_token_name", "invalid_role"]);
  } finally {
    await sql?.end({ timeout: 5 });
  }
}
