// What a Postgres CLIENT span is named after (shared/client-spans.ts): the statement's kind
// and table, read from the template text only (the literal parts of sql`...`, never its values).
import { expect, test } from "bun:test";
import { describeStatement } from "../../shared/client-spans.ts";

test("the operation and table of the statements hookline runs", () => {
  const cases: [string, { operation: string; collection?: string }][] = [
    [
      "insert into webhook_event_ids (event_id) select * from unnest(?::text[])",
      { operation: "INSERT", collection: "webhook_event_ids" },
    ],
    ["\n    INSERT INTO patients (email) values (?)", { operation: "INSERT", collection: "patients" }],
    ["update patients set first_name = ? where id = ?", { operation: "UPDATE", collection: "patients" }],
    ["delete from webhook_events where received_at < ?", { operation: "DELETE", collection: "webhook_events" }],
    [
      "select id, email from patients where email_index = ? order by id",
      { operation: "SELECT", collection: "patients" },
    ],
    ["select 1 as ok", { operation: "SELECT" }],
    ["-- a comment first\nselect * from hookline.audit_log", { operation: "SELECT", collection: "hookline.audit_log" }],
    ["with fresh as (select 1) insert into x select * from fresh", { operation: "WITH" }],
    ["begin", { operation: "BEGIN" }],
    ["", { operation: "QUERY" }],
  ];
  for (const [text, expected] of cases) expect({ text, got: describeStatement(text) }).toEqual({ text, got: expected });
});
