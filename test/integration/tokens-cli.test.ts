// `ops/hookline tokens create|list|revoke` (issue #10 item 5) against the test database and a
// running dashboard process: the token is printed once and works, list never shows it,
// revocation makes every request fail within seconds, each change is in the audit trail, and
// usage errors exit 2, failures 1.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { userInfo } from "node:os";
import { join } from "node:path";
import { TOKEN_PATTERN } from "../../services/dashboard/tokens.ts";
import type { Sql } from "../../shared/db/client.ts";
import {
  DATABASE_URL,
  freshDatabase,
  ROOT,
  runCommand,
  type Service,
  serviceEnv,
  startService,
  waitFor,
} from "./harness.ts";

let sql: Sql;
let dashboard: Service;
/** audit_log is append-only (never emptied): this file's entries are those after it. */
let auditStart: string;

beforeAll(async () => {
  sql = await freshDatabase();
  await sql`truncate dashboard_tokens`;
  const [head] = await sql`select coalesce(max(seq), 0)::text as seq from audit_log`;
  auditStart = head!.seq;
  dashboard = await startService("dashboard", {});
});

afterAll(async () => {
  await dashboard?.kill("SIGKILL");
  await sql?.end();
});

const cli = (...args: string[]) =>
  runCommand([join(ROOT, "ops/hookline"), "tokens", ...args], { env: serviceEnv({ DATABASE_URL }) });

const forms = (token: string) =>
  fetch(`${dashboard.url}/api/v1/forms`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
const events = (token: string) =>
  fetch(`${dashboard.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

test("create prints the token once (alone on stdout), and the dashboard takes it with its role", async () => {
  const created = await cli("create", "--name", "front-desk", "--role", "viewer", "--expires-in", "90d");
  expect(created.code).toBe(0);
  const token = created.stdout.trim();
  expect(token).toMatch(new RegExp(`^${TOKEN_PATTERN}$`));
  expect(created.stderr).toContain('"front-desk" (role viewer, expires ');
  expect(created.stderr).not.toContain(token);
  expect(await forms(token)).toBe(200);
  expect(await events(token)).toBe(403); // admin only

  const [row] = await sql`select role, created_by, expires_at - created_at as lifetime from dashboard_tokens
    where name = 'front-desk'`;
  expect(row).toMatchObject({ role: "viewer", created_by: `cli:${userInfo().username}` });
  expect(String(row!.lifetime)).toContain("90 days");
});

test("--json prints the record with the token; list shows tokens without it, as a table or JSON lines", async () => {
  const created = await cli("create", "--name", "grafana", "--role", "admin", "--json");
  expect(created.code).toBe(0);
  const record = JSON.parse(created.stdout);
  expect(record).toMatchObject({ name: "grafana", role: "admin", expiresAt: null, revokedAt: null });
  expect(record.token).toMatch(new RegExp(`^${TOKEN_PATTERN}$`));
  expect(await events(record.token)).toBe(200);

  const table = await cli("list");
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/^ID\s+NAME\s+ROLE\s+CLIENT\s+STATUS/);
  expect(table.stdout).toMatch(new RegExp(`\\n${record.id}\\s+grafana\\s+admin\\s+all\\s+active`));
  expect(table.stdout + table.stderr).not.toMatch(new RegExp(TOKEN_PATTERN));
  const lines = (await cli("list", "--json")).stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(lines.map((l) => [l.name, l.status])).toEqual([
    ["front-desk", "active"],
    ["grafana", "active"],
  ]);
  for (const l of lines) expect(l).not.toHaveProperty("token");
  // The first token was used a moment ago: its last use is noted.
  await waitFor("last use noted", async () => {
    const [l] = (await cli("list", "--json")).stdout
      .trim()
      .split("\n")
      .map((x) => JSON.parse(x));
    return l.lastUsedAt !== null;
  });
});

test("revoke by name or id: every request with it fails within seconds; again is a no-op; unknown exits 1", async () => {
  const { stdout } = await cli("create", "--name", "leaver", "--role", "editor", "--json");
  const { id, token } = JSON.parse(stdout);
  expect(await forms(token)).toBe(200);
  const revoked = await cli("revoke", "leaver");
  expect(revoked).toMatchObject({ code: 0 });
  expect(revoked.stdout).toContain(`revoked token ${id} "leaver"`);
  await waitFor("the dashboard refuses the revoked token", async () => (await forms(token)) === 401, 15_000);

  const again = await cli("revoke", String(id));
  expect(again.code).toBe(0);
  expect(again.stdout).toContain("already revoked");
  expect(await cli("revoke", "nobody")).toMatchObject({ code: 1 });
  expect(await cli("revoke", "999999")).toMatchObject({ code: 1 });
  // The name is free again once revoked.
  expect((await cli("create", "--name", "leaver", "--role", "viewer")).code).toBe(0);
  expect((await cli("list", "--json")).stdout).toContain('"status":"revoked"');
});

test("creations and revocations are in the audit trail with the operator as actor", async () => {
  const rows = await sql`
    select actor, action, details from audit_log where entity_type = 'dashboard_token' and seq > ${auditStart}::bigint order by seq`;
  const actor = `cli:${userInfo().username}`;
  expect(rows.map((r) => `${r.actor} ${r.action} ${r.details.name}`)).toEqual([
    `${actor} token.create front-desk`,
    `${actor} token.create grafana`,
    `${actor} token.create leaver`,
    `${actor} token.revoke leaver`,
    `${actor} token.create leaver`,
  ]);
  // No token or digest in an entry.
  expect(JSON.stringify(rows)).not.toMatch(new RegExp(TOKEN_PATTERN));
});

test("usage errors exit 2 naming the problem; a taken name exits 1", async () => {
  for (const args of [
    ["create", "--role", "viewer"],
    ["create", "--name", "x1"],
    ["create", "--name", "x1", "--role", "root"],
    ["create", "--name", "9lives", "--role", "viewer"],
    ["create", "--name", "x1", "--role", "viewer", "--expires-in", "forever"],
    ["create", "--name", "x1", "--role", "viewer", "--bogus"],
    ["revoke"],
    ["frobnicate"],
  ]) {
    const r = await cli(...args);
    expect([args.join(" "), r.code]).toEqual([args.join(" "), 2]);
    expect(r.stderr).toContain("usage:");
  }
  const taken = await cli("create", "--name", "grafana", "--role", "viewer");
  expect(taken.code).toBe(1);
  expect(taken.stderr).toContain("token_name_taken");
  expect((await cli("--help")).code).toBe(0);
});
