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
//   as a word prefix (full-text, accents folded: "muller" and "Müller" alike), and when that
//   finds fewer than a page, words within typing distance (trigram word similarity: "Mueler",
//   "Shmidt"). Ranked by score = 1 for a full-text match + trigram word similarity (0..1), then
//   id; paged by keyset on (score, id). At most CANDIDATES rows of each kind are ranked, so a
//   one-letter query stays as fast as a full name: narrowing the query narrows the set.
import type { Row, Sql, TransactionSql } from "postgres";
import * as v from "valibot";
import { lookupIndexes } from "../../shared/crypto/blind-index.ts";
import type { Keys } from "../../shared/crypto/keys.ts";
import { byteaColumn } from "../../shared/db/arrays.ts";
import { COLUMNS, type PatientDto, toPatientDto } from "./patients.ts";

/** A connection, or a transaction (a client-scoped caller's: scope.ts). */
type Db = Sql | TransactionSql;

/** How many rows each kind of name match ranks at most. */
const CANDIDATES = 500;
/** A typed word that starts no known word stands for at most this many known words it resembles. */
const TYPO_WORDS = 8;
/** Words of a query used (a name and a city are a handful). */
const MAX_WORDS = 8;

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
  id: v.pipe(v.string(), v.regex(/^\d{1,18}$/)),
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
export type ListedPatient = PatientDto & { [SORT_KEY]?: string | number };
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

const withKey = (keys: Keys, r: Row): ListedPatient =>
  Object.assign(toPatientDto(keys, r), { [SORT_KEY]: r.sort_key ?? undefined });

/**
 * One page in `sort` order of the patients `only` selects (all of them without it): a listing,
 * an exact email/phone search, or a name search's matches in another order than relevance.
 */
async function listPage(
  tx: Db,
  keys: Keys,
  q: ListQuery,
  only?: { column: string; indexes: Buffer[] } | { ids: string[] },
): Promise<ListedPatient[]> {
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
  const columns = tx.unsafe(`${COLUMNS}${key ? `, ${asText(key)} as sort_key, ${key.expr} as sort_value` : ""}`);
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
      limit ${q.limit}`
    : await tx`
      select ${columns} from patients
      where true ${filters(tx, q)} ${position}
      order by ${tx.unsafe(key ? `${key.expr} ${order}, id ${order}` : `id ${order}`)}
      limit ${q.limit}`;
  return rows.map((r) => withKey(keys, r));
}

/** A lexeme in tsquery syntax: quoted (a name's lexeme can hold "-" or "'"). */
const lexeme = (w: string) => `'${w.replace(/'/g, "''")}'`;

/**
 * The full-text query for a name search: every word as a prefix of a known word, or, for a
 * word that starts none (a typo), any of the known words it resembles; null when a word
 * matches nothing at all.
 */
async function nameQuery(tx: Db, text: string): Promise<{ normalized: string; tsquery: string } | null> {
  // In one round trip: the query as the indexed text is made (012: lower-cased, accents folded),
  // cut into words (letters and digits only, so nothing in them is tsquery syntax), and for
  // each word whether it starts a known word, and the known words it resembles.
  const found = await tx<{ text: string; w: string; prefix: boolean; similar: string[] }[]>`
    with t as (select lower(hookline_unaccent(${text})) as text),
    words as (
      select x.w, x.n from t, regexp_split_to_table(t.text, '[^[:alnum:]]+') with ordinality as x(w, n)
      where x.w <> '' order by x.n limit ${MAX_WORDS}
    )
    select t.text, words.w, p.prefix,
      case when p.prefix then '{}'::text[] else array(select v.word from patient_search_words v where v.word % words.w
        order by similarity(v.word, words.w) desc, v.word limit ${TYPO_WORDS}) end as similar
    from t, words, lateral (select exists (select 1 from patient_search_words v
      where v.word >= words.w and v.word < words.w || chr(1114111)) as prefix) p
    order by words.n`;
  if (found.length === 0) return null;
  const parts: string[] = [];
  for (const f of found) {
    if (f.prefix) parts.push(`${lexeme(f.w)}:*`);
    else if (f.similar.length) parts.push(`(${f.similar.map(lexeme).join(" | ")})`);
    else return null;
  }
  return { normalized: found[0]!.text, tsquery: parts.join(" & ") };
}

/** One page of a name search, best first: (score desc, id desc). */
async function namePage(tx: Db, keys: Keys, q: ListQuery, text: string): Promise<ListedPatient[]> {
  const query = await nameQuery(tx, text);
  if (!query) return [];
  const after = q.after;
  // The client is filtered in patient_search itself; the other filters need the patient row.
  const patientFilters = Boolean(q.source || q.formId || q.from || q.to);
  // Candidates from patient_search (no row-level security, so its indexes serve the query;
  // 012), narrowed to the client when there is one; the patients themselves are read from
  // patients, under the caller's scope.
  const rows = await tx`
    with candidates as (
      select s.id, (word_similarity(${query.normalized}, s.search_text) + similarity(${query.normalized}, s.search_text))::float8 as score
      from patient_search s
      where s.search_vector @@ to_tsquery('simple'::regconfig, ${query.tsquery})
        ${q.clientId ? tx`and s.client_id = ${q.clientId}::bigint` : tx``}
      limit ${CANDIDATES}
    ), page as (
      select c.id, c.score from candidates c
      ${patientFilters ? tx`join patients p on p.id = c.id where true ${filters(tx, { ...q, clientId: undefined })}` : tx`where true`}
        ${after ? tx`and (c.score, c.id) < (${Number(after.k)}::float8, ${after.id}::bigint)` : tx``}
      order by c.score desc, c.id desc
      limit ${q.limit}
    )
    select ${tx.unsafe(COLUMNS)}, page.score as sort_key
    from page join patients using (id)
    order by page.score desc, page.id desc`;
  return rows.map((r) => withKey(keys, r));
}

/** A page of patients for `q` (its cursor, when given, checked to belong to this listing by the caller). */
export async function listPatients(tx: Db, keys: Keys, q: ListQuery): Promise<ListedPatient[]> {
  const text = q.q?.trim();
  if (!text) return listPage(tx, keys, q);
  const kind = searchKind(text);
  if (kind !== "name") {
    const indexes = lookupIndexes(keys.blindIndex, kind, text);
    // Not a valid email or phone number: it can match nothing by index (a number that does
    // not parse is tried as a name below: "12345678" may be part of an address's text).
    if (indexes.length || kind === "email")
      return indexes.length ? listPage(tx, keys, q, { column: `${kind}_bidx`, indexes }) : [];
  }
  if (q.sort === "relevance") return namePage(tx, keys, q, text);
  // Another order: the best CANDIDATES matches, listed in it.
  const ids = (await namePage(tx, keys, { ...q, after: undefined, limit: CANDIDATES }, text)).map((p) => p.id);
  return ids.length ? listPage(tx, keys, q, { ids }) : [];
}
