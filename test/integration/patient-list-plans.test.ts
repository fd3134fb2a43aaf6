// A name search's statements are planned once per connection, not at every request: Postgres
// keeps a prepared statement's generic plan only when it costs no more than the custom plans it
// made for the first five executions, and a LIMIT or tsquery bound as a parameter made every
// execution planned anew (0.2-0.3 ms of Postgres CPU a request; patient-list.ts, limitOf). Read
// from pg_prepared_statements of the one connection that ran them (postgres.js prepares each
// statement by name there). A listing's page was planned anew the same way at 1M patients, not
// at the few hundred rows a test adds (the costs of both plans are close there), so no test here
// could tell; ops/bench dashboard measures it.
//
// In a schema of its own (public after it, for the extensions): the rows and statistics it makes
// do not change the plans other test files on the shared database check.
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { listPatients } from "../../services/dashboard/patient-list.ts";
import { createRowCache } from "../../services/dashboard/row-cache.ts";
import { migrate } from "../../shared/db/migrate.ts";
import { TEST_KEYS } from "../keys.ts";
import { DATABASE_URL } from "./harness.ts";

const schema = `plans_${process.pid}`;
let admin: postgres.Sql;
let one: postgres.Sql;

const FIRST = ["Anna", "Jürgen", "Mehmet", "Katharina", "Lukas", "Sofia"];
const LAST = ["Müller", "Schmidt", "Böhm", "Kaiser", "Freiwald", "Yılmaz", "Nowak"];

beforeAll(async () => {
  admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop schema if exists ${schema} cascade`);
  await admin.unsafe(`create schema ${schema}`);
  // Migrated with the schema alone on the path (else it would find public's migrations table
  // and create nothing); searched with public after it, where the extensions' operators are.
  const migrating = postgres(DATABASE_URL, { max: 1, onnotice: () => {}, connection: { search_path: schema } });
  await migrate(migrating);
  await migrating.end();
  one = postgres(DATABASE_URL, { max: 1, onnotice: () => {}, connection: { search_path: `${schema}, public` } });
  await one`
    insert into patients (first_name, last_name, full_name, source, first_event_id, last_event_id, submitted_at)
    select f, l, f || ' ' || l, 'generic', 'e' || n, 'e' || n, now()
    from unnest(${FIRST}::text[]) f, unnest(${LAST}::text[]) l, generate_series(1, 5) n`;
  // The rows went where the search reads them, not into the shared tables.
  const [where] = await one`select count(*)::int as n from ${one(schema)}.patients`;
  expect(where!.n).toBe(FIRST.length * LAST.length * 5);
});

afterAll(async () => {
  await one?.end();
  await admin?.unsafe(`drop schema if exists ${schema} cascade`);
  await admin?.end();
});

/** Generic and custom plans so far of the statements whose text contains `marker`. */
async function plans(marker: string): Promise<{ generic: number; custom: number }> {
  const rows = await one<{ generic: number; custom: number }[]>`
    select coalesce(sum(generic_plans), 0)::int as generic, coalesce(sum(custom_plans), 0)::int as custom
    from pg_prepared_statements where statement like ${`%${marker}%`}`;
  return rows[0]!;
}

test("a name search, whatever its words, is planned once, then runs its cached plans", async () => {
  const cache = createRowCache();
  for (let i = 0; i < 10; i++) {
    const [first, last] = [FIRST[i % FIRST.length]!, LAST[i % LAST.length]!];
    // A typo in every other one: the known words it resembles are looked up too.
    const q = `${first} ${i % 2 ? last : `${last.slice(0, -1)}x`}`;
    const found = await listPatients(one, TEST_KEYS, cache, { sort: "relevance", dir: "desc", limit: 25, q });
    expect([q, found.length > 0, found.every((p) => p.firstName === first)]).toEqual([q, true, true]);
  }
  for (const marker of ["regexp_split_to_table", "patient_search s"]) {
    const p = await plans(marker);
    expect([marker, p.generic >= 4, p.custom <= 6]).toEqual([marker, true, true]);
  }
});

test("pages of any size share a few statements: the limit is rounded up to a size and the extra rows dropped", async () => {
  const cache = createRowCache();
  const marker = "from patients\n      where true";
  const before = (
    await one<
      { n: number }[]
    >`select count(*)::int as n from pg_prepared_statements where statement like ${`%${marker}%order by id desc%`}`
  )[0]!.n;
  for (const limit of [3, 7, 9]) {
    const page = await listPatients(one, TEST_KEYS, cache, { sort: "created", dir: "desc", limit });
    expect([limit, page.length]).toEqual([limit, limit]);
  }
  const after = (
    await one<
      { n: number }[]
    >`select count(*)::int as n from pg_prepared_statements where statement like ${`%${marker}%order by id desc%`}`
  )[0]!.n;
  // 3, 7 and 9 are all read with LIMIT 10: one statement, not three.
  expect(after - before).toBe(1);
});

test("a search of two or more words finds through word pairs exactly the patients every word's prefix finds", async () => {
  await one`
    insert into patients (first_name, last_name, full_name, city, source, first_event_id, last_event_id, submitted_at)
    values ('Anna', 'Müller-Lüdenscheidt', null, 'Köln', 'generic', 'p1', 'p1', now()),
           ('Anna', null, 'Anna', 'Annaberg', 'generic', 'p2', 'p2', now()),
           ('Lukas', 'Anna', null, 'Schmidtstedt', 'generic', 'p3', 'p3', now())`;
  const cache = createRowCache();
  const queries = [
    "anna mull", // a common first name and a last name's prefix
    "müll anna", // the other way round
    "anna ann", // both words can be the same word ("Anna" alone matches)
    "anna annab", // one a prefix of the other
    "anna ludens", // a hyphenated name's part
    "lukas anna kol", // three words: a pair and a word
    "anna schmidt koln", // three words matching no one
    "sofia b", // a one-letter word: the prefix side of the pair
    "kaiser kaiser",
  ];
  for (const q of queries) {
    const words = q
      .normalize("NFKD")
      .replace(/\p{M}/gu, "")
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter(Boolean);
    const expected = await one<{ id: string }[]>`
      select id::text from patient_search
      where search_vector @@ to_tsquery('simple', ${words.map((w) => `${w}:*`).join(" & ")})`;
    const found = await listPatients(one, TEST_KEYS, cache, { sort: "relevance", dir: "desc", limit: 500, q });
    expect([q, found.map((p) => p.id).sort()]).toEqual([q, expected.map((r) => r.id).sort()]);
  }
  // Not trivially empty: the pairs found what the words found.
  const annas = await listPatients(one, TEST_KEYS, cache, {
    sort: "relevance",
    dir: "desc",
    limit: 500,
    q: "anna ann",
  });
  expect(annas.length).toBeGreaterThan(30);
});
