// The patient listing and search behind GET /api/v1/patients and POST /api/v1/patients/search.
//
// Listing: filters (client, source, form, submission date range) and a sort (created, updated,
// submitted, name; asc or desc), paged by keyset on (sort key, id): a page never repeats or
// skips a patient because others were inserted meanwhile. Indexes: migration 012.
//
// Search (`q`), in the order tried:
// - an email (contains "@"): its exact value through the blind index (email is sealed);
// - a phone number (digits with the usual punctuation, 6 digits or more): likewise;
// - otherwise names and city (in clear by design, README "Security"): every word of the query
//   as a word prefix (full-text, accents folded: "muller" and "Müller" alike), a word that
//   starts no known word as the known words within typing distance (trigram similarity:
//   "Mueler", "Shmidt"); two or more words through the index of word pairs (migration 017).
//   Ranked by whole words first (every typed word a word of the patient's text, not only the
//   start of one; then some of them), then by closeness (rankOf), then id; paged by keyset on
//   (score, id). At most CANDIDATES matching rows are ranked, so a one-letter query
//   stays as fast as a full name: narrowing the query narrows the set.
import type { Row, Sql, TransactionSql } from "postgres";
import * as v from "valibot";
import { lookupIndexes } from "../../shared/crypto/blind-index.ts";
import type { Keys } from "../../shared/crypto/keys.ts";
import { byteaColumn } from "../../shared/db/arrays.ts";
import { ROW_ID } from "../../shared/db/row-id.ts";
import { type PatientSummary, SUMMARY_VALUES, toPatientSummary, VERSION_COLUMNS } from "./patients.ts";
import type { RowCache } from "./row-cache.ts";

/** A connection, or a transaction (a client-scoped caller's: scope.ts). */
type Db = Sql | TransactionSql;

/** How many rows each kind of name match ranks at most. */
const CANDIDATES = 500;
/** A typed word that starts no known word stands for at most this many known words it resembles. */
const TYPO_WORDS = 8;
/**
 * A typed word that starts at most this many known words is searched as those words (exact
 * lexemes), else as a prefix. A prefix (`'mull':*`) is a GIN partial match, which gathers every
 * row of every matching word into a bitmap before the AND with the other words: "anna mull" at
 * 1M patients took 25-55 ms that way (16,670 Annas, 9,220 Müllers, 147 of both), 1.5-4 ms as
 * 'anna' & 'muller', where GIN skips through the posting lists of the rarer word.
 */
const PREFIX_WORDS = 32;
/** Words of a query used (a name and a city are a handful). */
const MAX_WORDS = 8;

/**
 * A LIMIT written into the statement instead of bound as a parameter. Bound, it made Postgres
 * plan these statements again at every execution: the generic plan, costed without the limit,
 * never looked as cheap as the custom ones, so every request paid 0.2-0.3 ms of planning (about
 * as much as running a listing's page). As a literal each distinct limit is one prepared
 * statement, planned once per connection. Only whole numbers go in (this module's constants, or
 * a page's limit through pageLimit).
 */
function limitOf(tx: Db, n: number) {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`not a limit: ${n}`);
  return tx.unsafe(String(n));
}

/**
 * The LIMIT a page of `n` rows is read with: `n` rounded up to one of a few sizes, the rows past
 * `n` dropped by the caller (pageOf). A page's limit is anything from 1 to 500 (paging.ts), and
 * postgres.js keeps every statement it prepared for the connection's life: one a limit value
 * would be hundreds a listing shape on every connection, and planning again for each new one.
 */
const LIMIT_SIZES = [10, 25, 50, 100, 250, 500];
const pageLimit = (tx: Db, n: number) => limitOf(tx, LIMIT_SIZES.find((size) => size >= n) ?? n);
/** The first `n` rows (read with pageLimit). */
const pageOf = (rows: PageRow[], n: number): PageRow[] => (rows.length > n ? rows.slice(0, n) : rows);

export const SORTS = ["created", "updated", "submitted", "name"] as const;
export type Sort = (typeof SORTS)[number] | "relevance";

/** The SQL of each sort key (as text, so a cursor carries it exactly: timestamps keep their microseconds). */
const SORT_KEYS: Record<Exclude<Sort, "relevance" | "created">, { expr: string; type: string }> = {
  updated: { expr: "updated_at", type: "timestamptz" },
  submitted: { expr: "submitted_at", type: "timestamptz" },
  // A stored column (012): a condition on an expression is never an index condition under
  // row-level security.
  name: { expr: "sort_name", type: "text" },
};
const asText = (s: { expr: string; type: string }) =>
  s.type === "timestamptz" ? `to_char(${s.expr} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` : s.expr;

/** A page's position: the sort it belongs to and the last row's key and id. */
export const ListCursor = v.object({
  s: v.picklist([...SORTS, "relevance"]),
  d: v.picklist(["asc", "desc"]),
  k: v.optional(v.union([v.string(), v.number()])),
  id: v.pipe(v.string(), v.regex(ROW_ID)),
});
export type ListCursor = v.InferOutput<typeof ListCursor>;

export interface ListQuery {
  q?: string;
  clientId?: string;
  source?: string;
  formId?: string;
  /** Submitted at or after (ISO). */
  from?: string;
  /** Submitted before (ISO). */
  to?: string;
  sort: Sort;
  dir: "asc" | "desc";
  limit: number;
  after?: ListCursor;
}

/** A listed patient with the key of its row in the listing's order (for the next cursor). */
export type ListedPatient = PatientSummary & { [SORT_KEY]?: string | number };
export const SORT_KEY = Symbol("sortKey");

/** What kind of search `q` is. */
export function searchKind(q: string): "email" | "phone" | "name" {
  if (q.includes("@")) return "email";
  const digits = q.replace(/\D/g, "").length;
  if (digits >= 6 && /^[\d\s+()./-]+$/.test(q)) return "phone";
  return "name";
}

function filters(tx: Db, q: ListQuery) {
  return tx`
    ${q.clientId ? tx`and client_id = ${q.clientId}::bigint` : tx``}
    ${q.source ? tx`and source = ${q.source}` : tx``}
    ${q.formId ? tx`and form_id = ${q.formId}` : tx``}
    ${q.from ? tx`and submitted_at >= ${q.from}::timestamptz` : tx``}
    ${q.to ? tx`and submitted_at < ${q.to}::timestamptz` : tx``}`;
}

/**
 * A page's row before it is opened: id, version, open conflicts and sort key (VERSION_COLUMNS),
 * and for a search the row's values too (SUMMARY_VALUES).
 */
type PageRow = Row;

/**
 * Whether a page reads the rows' values with their versions. A listing's first pages are read
 * again and again, so it reads versions only and then the rows not opened yet (a second
 * statement, seldom needed); a search finds rows nobody asked for a moment ago, so it reads
 * them whole at once rather than pay a second statement nearly every time (and uses the cache
 * only for rows a listing opened).
 */
const readsWhole = (q: ListQuery) => Boolean(q.q?.trim());

/**
 * The patients of a page, opened: from the row cache when it holds a row in the version the
 * page read, the others opened from the values the page read or else read whole in one query.
 * Null when a row was removed between the two reads (erased, merged away): the caller reads the
 * page again, so that a page is never short (a short page would end the listing).
 */
async function openPage(
  tx: Db,
  keys: Keys,
  cache: RowCache,
  rows: PageRow[],
  whole: boolean,
): Promise<ListedPatient[] | null> {
  const opened = new Map<string, PatientSummary>();
  // Opened for this page only, not shared: completed in place below instead of copied.
  const own = new Set<PatientSummary>();
  const missing: string[] = [];
  for (const r of rows) {
    const id = String(r.id);
    const cached = cache.get(id, r.row_version);
    if (cached) opened.set(id, cached);
    // A search's rows are opened from what it read and not kept: searches would push the
    // listings' first pages, the rows read again and again, out of the cache.
    else if (whole) {
      const patient = toPatientSummary(keys, r);
      own.add(patient);
      opened.set(id, patient);
    } else missing.push(id);
  }
  if (missing.length) {
    const read = await tx`
      select id, ${tx.unsafe(SUMMARY_VALUES)}, xmin::text as row_version from patients where id = any(${missing}::bigint[])`;
    for (const r of read) {
      const patient = toPatientSummary(keys, r);
      cache.put(patient.id, r.row_version, patient);
      opened.set(patient.id, patient);
    }
  }
  const page: ListedPatient[] = [];
  for (const r of rows) {
    const patient = opened.get(String(r.id));
    if (!patient) return null;
    // A cached object is shared by every page that lists it: a copy.
    const listed: ListedPatient = own.has(patient) ? patient : { ...patient };
    listed.openConflicts = r.open_conflicts;
    listed[SORT_KEY] = r.sort_key ?? undefined;
    page.push(listed);
  }
  return page;
}

/**
 * One page in `sort` order of the patients `only` selects (all of them without it): a listing,
 * an exact email/phone search, or a name search's matches in another order than relevance.
 */
async function listPage(
  tx: Db,
  q: ListQuery,
  only?: { column: string; indexes: Buffer[] } | { ids: string[] },
): Promise<PageRow[]> {
  const desc = q.dir === "desc";
  const cmp = desc ? tx`<` : tx`>`;
  const order = desc ? "desc" : "asc";
  const key = q.sort === "created" || q.sort === "relevance" ? null : SORT_KEYS[q.sort];
  const after = q.after;
  const position = !after
    ? tx``
    : key
      ? // Through text: postgres.js would send a timestamptz parameter as a JS Date, dropping its microseconds.
        tx`and (${tx.unsafe(key.expr)}, id) ${cmp} (${String(after.k)}::text::${tx.unsafe(key.type)}, ${after.id}::bigint)`
      : tx`and id ${cmp} ${after.id}::bigint`;
  const selected = !only
    ? tx``
    : "ids" in only
      ? tx`and id = any(${only.ids}::bigint[])`
      : tx`and ${tx(only.column)} = any(${byteaColumn(tx, only.indexes, (i) => i)})`;
  const columns = tx.unsafe(
    `${VERSION_COLUMNS}${readsWhole(q) ? `, ${SUMMARY_VALUES}` : ""}${key ? `, ${asText(key)} as sort_key, ${key.expr} as sort_value` : ""}`,
  );
  const orderBy = tx.unsafe(key ? `sort_value ${order}, id ${order}` : `id ${order}`);
  // A few patients selected by id or blind index are sorted after they are found: with ORDER BY
  // in the same query, a generic plan (postgres.js prepares its statements) walked the whole
  // table in id order looking for the one email (3 s at 1M). OFFSET 0 keeps the two apart.
  const rows = only
    ? await tx`
      select * from (
        select ${columns} from patients where true ${selected} ${filters(tx, q)} ${position} offset 0
      ) found
      order by ${orderBy}
      limit ${pageLimit(tx, q.limit)}`
    : await tx`
      select ${columns} from patients
      where true ${filters(tx, q)} ${position}
      order by ${orderBy}
      limit ${pageLimit(tx, q.limit)}`;
  return pageOf(rows, q.limit);
}

/** A lexeme in tsquery syntax: quoted (a name's lexeme can hold "-" or "'"). */
const lexeme = (w: string) => `'${w.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;

/** Words joined by OR, in tsquery syntax (parenthesized when more than one). */
const anyOf = (words: string[]) => (words.length === 1 ? words[0]! : `(${words.join(" | ")})`);

/** A pair query names at most this many pairs (a word's known words times the other's). */
const MAX_PAIRS = 64;

/**
 * A typed word as the known words it stands for: `exact`, the words listed (null when it starts
 * more than PREFIX_WORDS); `prefix`, the typed word itself when it stands for every known word
 * it starts (null for a typo, which stands for the words it resembles).
 */
interface TypedWord {
  exact: string[] | null;
  prefix: string | null;
}

/**
 * The pair query (migration 017) for two typed words, or null when neither can be listed: each
 * known word `l` of one with the other as a prefix (`'l r':*`) or as its listed words.
 */
function pairTerms(left: TypedWord, right: TypedWord): string[] | null {
  if (!left.exact) return null;
  if (right.prefix !== null) return left.exact.map((l) => `${lexeme(`${l} ${right.prefix}`)}:*`);
  return right.exact && left.exact.flatMap((l) => right.exact!.map((r) => lexeme(`${l} ${r}`)));
}

/**
 * A search of two or more words as word pairs: the pair with the fewest terms, the other words
 * as words. Null for one word, or when no pair has at most MAX_PAIRS terms (every word starts
 * too many known words: "a b").
 */
function pairQuery(words: TypedWord[], asWord: string[]): { pairs: string; rest: string | null } | null {
  let best: { terms: string[]; i: number; j: number } | null = null;
  for (let i = 0; i < words.length; i++)
    for (let j = 0; j < words.length; j++) {
      const terms = i === j ? null : pairTerms(words[i]!, words[j]!);
      if (terms && terms.length <= MAX_PAIRS && (!best || terms.length < best.terms.length)) best = { terms, i, j };
    }
  if (!best) return null;
  const rest = asWord.filter((_, k) => k !== best.i && k !== best.j);
  return { pairs: anyOf(best.terms), rest: rest.length ? rest.join(" & ") : null };
}

/** A name search's query: over words, or over word pairs with the other words (see pairQuery). */
interface NameQuery {
  normalized: string;
  words: string;
  /** The typed words as whole words (no prefix, no typo), all of them and any of them (rankOf). */
  whole: { all: string; any: string };
  /** Whether a typed word starts no known word and stands for the words it resembles. */
  typo: boolean;
  pairs: { pairs: string; rest: string | null } | null;
}

/**
 * The known words a typed word starts, and those it resembles, in `clientId`'s word list (021)
 * when the search is limited to one client, else in every client's (each word once). A scoped
 * search must not depend on other clients' patients: whether a word is a prefix or a typo was
 * decided on one shared list, which let a scoped viewer learn that another client had a name
 * starting with what it typed.
 */
function knownWords(tx: Db, clientId: string | undefined) {
  const ofClient = clientId ? tx`v.client_key = ${clientId}::bigint and` : tx``;
  return {
    starts: tx`array(select distinct v.word from patient_search_words v
      where ${ofClient} v.word >= words.w and v.word < words.w || chr(1114111) order by v.word limit ${limitOf(tx, PREFIX_WORDS + 1)})`,
    similar: tx`array(select v.word from patient_search_words v
      where ${ofClient} v.word % words.w group by v.word
      order by similarity(v.word, words.w) desc, v.word limit ${limitOf(tx, TYPO_WORDS)})`,
  };
}

/**
 * The full-text query for a name search: every word as the known words it starts (as a prefix
 * when it starts more than PREFIX_WORDS), or, for a word that starts none (a typo), any of the
 * known words it resembles; with two or more words, also as word pairs (pairQuery). Null when
 * a word matches nothing at all. The known words are `clientId`'s when given (knownWords).
 */
async function nameQuery(tx: Db, text: string, clientId: string | undefined): Promise<NameQuery | null> {
  const known = knownWords(tx, clientId);
  // In one round trip: the query as the indexed text is made (012: lower-cased, accents folded),
  // cut into words (letters and digits only, so nothing in them is tsquery syntax), and for
  // each word the known words it starts (one more than PREFIX_WORDS: too many), and when it
  // starts none, the known words it resembles.
  const found = await tx<{ text: string; w: string; starts: string[]; similar: string[] }[]>`
    with t as (select lower(hookline_unaccent(${text})) as text),
    words as (
      select x.w, x.n from t, regexp_split_to_table(t.text, '[^[:alnum:]]+') with ordinality as x(w, n)
      where x.w <> '' order by x.n limit ${limitOf(tx, MAX_WORDS)}
    )
    select t.text, words.w, p.starts,
      case when cardinality(p.starts) > 0 then '{}'::text[] else ${known.similar} end as similar
    from t, words, lateral (select ${known.starts} as starts) p
    order by words.n`;
  if (found.length === 0) return null;
  const typed: TypedWord[] = [];
  const asWord: string[] = [];
  for (const f of found) {
    if (f.starts.length > PREFIX_WORDS) {
      typed.push({ exact: null, prefix: f.w });
      asWord.push(`${lexeme(f.w)}:*`);
    } else if (f.starts.length) {
      typed.push({ exact: f.starts, prefix: f.w });
      asWord.push(anyOf(f.starts.map(lexeme)));
    } else if (f.similar.length) {
      typed.push({ exact: f.similar, prefix: null });
      asWord.push(anyOf(f.similar.map(lexeme)));
    } else return null;
  }
  const typedWords = found.map((f) => lexeme(f.w));
  return {
    normalized: found[0]!.text,
    words: asWord.join(" & "),
    whole: { all: typedWords.join(" & "), any: typedWords.join(" | ") },
    typo: typed.some((t) => t.prefix === null),
    pairs: pairQuery(typed, asWord),
  };
}

/**
 * Which patient_search rows match: the word pairs through their index and the other words
 * checked on those rows only (`is true`: not an index condition, so Postgres does not read a
 * common word's posting list for them), else the words through theirs. A tsquery is made in a
 * subquery, run once before the scan: the plan is then the same whatever the words, so Postgres
 * plans the statement once per connection instead of at every search (see limitOf).
 */
function matching(tx: Db, query: NameQuery) {
  if (!query.pairs) return tx`s.search_vector @@ (select to_tsquery('simple'::regconfig, ${query.words}))`;
  const { pairs, rest } = query.pairs;
  return tx`s.pair_vector @@ (select ${pairs}::tsquery)
    ${rest ? tx`and (s.search_vector @@ (select to_tsquery('simple'::regconfig, ${rest}))) is true` : tx``}`;
}

/**
 * A candidate's score, best first: 2 when every typed word is a whole word of its text (not
 * only the start of one), 1 when some is, else 0; plus, below 1, how close the text is to the
 * query:
 * - without a typo, the shorter text: every candidate holds every typed word, so the text with
 *   the fewest other letters is the closest. Trigram similarity, which ranked these before, then
 *   depends on little but the text's length too (its shared trigrams are the typed words' own),
 *   and cost 3 µs a candidate (ranking 500 took 1.5 ms; this takes a tenth of that);
 * - with a typo, trigram similarity of the query to the text: the closest spelling first.
 * The whole-word parts put "Anna Schmidt" of Frankfurt am Main before "Anna Schmidtke" of Köln
 * for "anna schmidt", and Anna before Annabelle for "anna schm", whatever their texts' lengths.
 */
function rankOf(tx: Db, query: NameQuery) {
  return tx`((s.search_vector @@ (select ${query.whole.all}::tsquery))::int
    + (s.search_vector @@ (select ${query.whole.any}::tsquery))::int
    + case when (select ${query.typo}::boolean) then similarity(${query.normalized}, s.search_text)
      else 1::float8 / (1 + length(s.search_text)) end)::float8`;
}

/** One page of a name search, best first: (score desc, id desc). */
async function namePage(tx: Db, q: ListQuery, text: string, whole = true): Promise<PageRow[]> {
  const query = await nameQuery(tx, text, q.clientId);
  if (!query) return [];
  const after = q.after;
  // The client is filtered in patient_search itself; the other filters need the patient row.
  const patientFilters = Boolean(q.source || q.formId || q.from || q.to);
  // Candidates from patient_search (no row-level security, so its indexes serve the query;
  // 012), narrowed to the client when there is one; the patients themselves are read from
  // patients, under the caller's scope.
  const rows = await tx`
    with candidates as (
      select s.id, ${rankOf(tx, query)} as score
      from patient_search s
      where ${matching(tx, query)}
        ${q.clientId ? tx`and s.client_id = ${q.clientId}::bigint` : tx``}
      limit ${limitOf(tx, CANDIDATES)}
    ), page as (
      select c.id, c.score from candidates c
      ${patientFilters ? tx`join patients p on p.id = c.id where true ${filters(tx, { ...q, clientId: undefined })}` : tx`where true`}
        ${after ? tx`and (c.score, c.id) < (${Number(after.k)}::float8, ${after.id}::bigint)` : tx``}
      order by c.score desc, c.id desc
      limit ${pageLimit(tx, q.limit)}
    )
    select ${tx.unsafe(whole ? `${VERSION_COLUMNS}, ${SUMMARY_VALUES}` : VERSION_COLUMNS)}, page.score as sort_key
    from page join patients using (id)
    order by page.score desc, page.id desc`;
  return pageOf(rows, q.limit);
}

/** The rows of a page of patients for `q`, not opened yet. */
async function pageRows(tx: Db, keys: Keys, q: ListQuery): Promise<PageRow[]> {
  const text = q.q?.trim();
  if (!text) return listPage(tx, q);
  const kind = searchKind(text);
  if (kind !== "name") {
    const indexes = lookupIndexes(keys.blindIndex, kind, text);
    // Not a valid email or phone number: it can match nothing by index (a number that does
    // not parse is tried as a name below: "12345678" may be part of an address's text).
    if (indexes.length || kind === "email")
      return indexes.length ? listPage(tx, q, { column: `${kind}_bidx`, indexes }) : [];
  }
  if (q.sort === "relevance") return namePage(tx, q, text);
  // Another order: the best CANDIDATES matches, listed in it.
  const ids = (await namePage(tx, { ...q, after: undefined, limit: CANDIDATES }, text, false)).map((r) => String(r.id));
  return ids.length ? listPage(tx, q, { ids }) : [];
}

/** Pages read again at most when rows are removed while one is opened (openPage). */
const READS = 3;

/**
 * A page of patients for `q` (its cursor, when given, checked to belong to this listing by the
 * caller), opened through `cache` (row-cache.ts).
 */
export async function listPatients(tx: Db, keys: Keys, cache: RowCache, q: ListQuery): Promise<ListedPatient[]> {
  for (let read = 1; ; read++) {
    const page = await openPage(tx, keys, cache, await pageRows(tx, keys, q), readsWhole(q));
    if (page) return page;
    if (read === READS)
      throw Object.assign(new Error("patients kept being removed while a page was read"), { code: "page_unstable" });
  }
}
