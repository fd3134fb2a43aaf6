// Seeds the dashboard bench's database by COPY: N realistic patients (German and international
// names with accents, cities, forms of four sources, one to three submissions each) written as
// the projector writes them: email, phone, birth date, street and postal code sealed together,
// answers sealed (shared/db/sealed.ts), email and phone blind-indexed, each submission in form_submissions and
// its raw event in webhook_events with its canonical form sealed on its guard row (webhook_event_ids). Deterministic for a given N (a fixed PRNG seed),
// so runs compare; the search terms the load uses are taken from the same generator.
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Sql } from "postgres";
import type { Keys } from "../../shared/crypto/keys.ts";
import {
  CANONICAL_FORM,
  FORM_SUBMISSIONS,
  indexCell,
  PACKED_PATIENT_FIELDS,
  PATIENTS,
  sealCell,
  sealedColumn,
  sealPacked,
} from "../../shared/db/sealed.ts";

const FIRST_F = [
  "Anna",
  "Maria",
  "Sophie",
  "Lena",
  "Zoë",
  "Jülide",
  "Léa",
  "Emma",
  "Hannah",
  "Marie",
  "Mia",
  "Chloé",
  "Ines",
  "Björk",
  "Käthe",
  "Agnieszka",
  "Fatma",
  "Ayşe",
  "Sara",
  "Johanna",
  "Clara",
  "Lucía",
  "Renée",
  "Małgorzata",
  "Ingrid",
  "Katharina",
  "Elif",
  "Noémie",
  "Greta",
  "Paula",
];
const FIRST_M = [
  "Jürgen",
  "Lukas",
  "Jonas",
  "Felix",
  "Max",
  "Paul",
  "Björn",
  "Özgür",
  "Mehmet",
  "Jan",
  "Tomás",
  "José",
  "François",
  "Noah",
  "Leon",
  "Elias",
  "Søren",
  "Mateusz",
  "Ali",
  "Stefan",
  "Andreas",
  "Michael",
  "Thomas",
  "Luca",
  "Ömer",
  "Niklas",
  "Henrik",
  "Matthäus",
  "Dominik",
  "Kai",
];
const LAST = [
  "Müller",
  "Schmidt",
  "Schneider",
  "Fischer",
  "Weber",
  "Meyer",
  "Wagner",
  "Becker",
  "Schulz",
  "Hoffmann",
  "Schäfer",
  "Koch",
  "Bauer",
  "Richter",
  "Klein",
  "Wolf",
  "Schröder",
  "Neumann",
  "Schwarz",
  "Zimmermann",
  "Braun",
  "Krüger",
  "Hofmann",
  "Hartmann",
  "Lange",
  "Schmitt",
  "Werner",
  "Schmitz",
  "Krause",
  "Meier",
  "Lehmann",
  "Köhler",
  "Herrmann",
  "König",
  "Walter",
  "Mayer",
  "Huber",
  "Kaiser",
  "Fuchs",
  "Peters",
  "Lang",
  "Scholz",
  "Möller",
  "Weiß",
  "Jung",
  "Hahn",
  "Vogel",
  "Friedrich",
  "Keller",
  "Günther",
  "Frank",
  "Berger",
  "Winkler",
  "Roth",
  "Beck",
  "Lorenz",
  "Baumann",
  "Franke",
  "Albrecht",
  "Schuster",
  "Simon",
  "Ludwig",
  "Böhm",
  "Winter",
  "Kraus",
  "Martin",
  "Schumacher",
  "Krämer",
  "Vogt",
  "Stein",
  "Jäger",
  "Otto",
  "Sommer",
  "Groß",
  "Seidel",
  "Heinrich",
  "Brandt",
  "Haas",
  "Schreiber",
  "Graf",
  "Schulte",
  "Dietrich",
  "Ziegler",
  "Kuhn",
  "Kühn",
  "Pohl",
  "Engel",
  "Horn",
  "Busch",
  "Bergmann",
  "Thomas",
  "Voigt",
  "Sauer",
  "Arnold",
  "Wolff",
  "Pfeiffer",
  "Yılmaz",
  "Kaya",
  "Nowak",
  "Kowalski",
  "Dubois",
  "García",
  "Fernández",
  "Rossi",
  "Sørensen",
  "Ødegård",
  "Đorđević",
  "Nguyễn",
  "O'Brien",
  "Lindqvist",
  "Müller-Lüdenscheidt",
  "Löwenthal",
  "Grünewald",
  "Weißenborn",
  "Straßburger",
  "Dąbrowski",
  "Šimić",
  "Çelik",
  "Papadopoulos",
  "Andersson",
];
const CITIES: [string, string][] = [
  ["Berlin", "10115"],
  ["Hamburg", "20095"],
  ["München", "80331"],
  ["Köln", "50667"],
  ["Frankfurt am Main", "60311"],
  ["Stuttgart", "70173"],
  ["Düsseldorf", "40213"],
  ["Leipzig", "04109"],
  ["Dortmund", "44135"],
  ["Essen", "45127"],
  ["Bremen", "28195"],
  ["Dresden", "01067"],
  ["Hannover", "30159"],
  ["Nürnberg", "90402"],
  ["Duisburg", "47051"],
  ["Bochum", "44787"],
  ["Münster", "48143"],
  ["Göttingen", "37073"],
  ["Würzburg", "97070"],
  ["Lübeck", "23552"],
  ["Osnabrück", "49074"],
  ["Saarbrücken", "66111"],
  ["Zürich", "8001"],
  ["Wien", "1010"],
  ["Gießen", "35390"],
  ["Fürth", "90762"],
];
const STREETS = [
  "Hauptstraße",
  "Bahnhofstraße",
  "Gartenweg",
  "Schillerstraße",
  "Goethestraße",
  "Lindenallee",
  "Am Markt",
  "Kirchgasse",
  "Mühlenweg",
  "Königsallee",
];
const TAIL_HEAD = [
  "Bau",
  "Berg",
  "Brandt",
  "Eich",
  "Feld",
  "Frei",
  "Gold",
  "Grün",
  "Hart",
  "Hof",
  "Kirch",
  "Klein",
  "Kron",
  "Lang",
  "Lind",
  "Löwen",
  "Mar",
  "Neu",
  "Ober",
  "Rosen",
  "Sand",
  "Schön",
  "Stein",
  "Stern",
  "Wald",
  "Weiß",
  "Wer",
  "Wies",
  "Wolf",
  "Zimmer",
  "Adler",
  "Becker",
  "Dorn",
  "Eber",
  "Fisch",
  "Horn",
  "Kalt",
  "Mohr",
  "Roth",
  "Sonnen",
];
const TAIL_END = [
  "mann",
  "er",
  "berg",
  "feld",
  "hoff",
  "stein",
  "bach",
  "hauser",
  "inger",
  "meier",
  "huber",
  "ke",
  "hardt",
  "wald",
  "lein",
  "brück",
  "thal",
  "burg",
  "dorf",
  "baum",
];
const SOURCES = ["heyflow", "typeform", "google-forms", "generic"] as const;
const FORMS_PER_SOURCE = 6;
const DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "praxis.example"];

/** mulberry32: a small, fast, seedable PRNG (deterministic seeds for comparable runs). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ascii = (s: string) =>
  s
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .replace(/ß/g, "ss")
    .replace(/[øØ]/g, "o")
    .replace(/[đĐ]/g, "d")
    .replace(/ı/g, "i")
    .replace(/ł/g, "l")
    .replace(/[^A-Za-z]/g, "")
    .toLowerCase();

/** One seeded patient: what the search load needs to know about it (kept for a sample only). */
export interface SeedPatient {
  id: number;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  city: string;
}

/** Patient `i` (1-based): the same values for the same i in every run. */
export function seedPatient(i: number): SeedPatient & {
  gender: string;
  dob: string;
  street: string;
  postalCode: string;
  source: string;
  formId: string;
  events: number;
  submittedAt: number;
} {
  const r = prng(i * 2654435761);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const female = r() < 0.5;
  const firstName = pick(female ? FIRST_F : FIRST_M);
  // Common names for about half, the long tail of rarer ones (800 more) for the rest: a real
  // practice's list has thousands of distinct surnames, the commonest under 1 %.
  const lastName = r() < 0.55 ? pick(LAST) : `${pick(TAIL_HEAD)}${pick(TAIL_END)}`;
  const [city, postalCode] = pick(CITIES);
  const source = pick(SOURCES);
  const year = 1940 + Math.floor(r() * 66);
  const dob = `${year}-${String(1 + Math.floor(r() * 12)).padStart(2, "0")}-${String(1 + Math.floor(r() * 28)).padStart(2, "0")}`;
  return {
    id: i,
    firstName,
    lastName,
    email: `${ascii(firstName)}.${ascii(lastName)}${i}@${pick(DOMAINS)}`,
    // Unique per patient: a German mobile number with the patient's number in it.
    phone: `+49${pick(["151", "160", "170", "176"])}${String(i).padStart(8, "0")}`,
    city,
    gender: female ? "female" : "male",
    dob,
    street: `${pick(STREETS)} ${1 + Math.floor(r() * 120)}`,
    postalCode,
    source,
    formId: `${source}-form-${Math.floor(r() * FORMS_PER_SOURCE)}`,
    events: 1 + Math.floor(r() * r() * 3),
    // Spread over the two years before a fixed day, newer ids newer.
    submittedAt: Date.UTC(2026, 10, 1) - Math.floor((1 - i / 2_000_000) * 730 * 86_400_000 * r()),
  };
}

const hex = (b: Buffer | null) => (b ? `\\\\x${b.toString("hex")}` : "\\N");
const text = (s: string | null) =>
  s === null
    ? "\\N"
    : s.replace(/[\\\t\n\r]/g, (c) => `\\${c === "\t" ? "t" : c === "\n" ? "n" : c === "\r" ? "r" : "\\"}`);

const ANSWERS = sealedColumn(PATIENTS, "answers_enc");
const EMAIL_BIDX = PATIENTS.blindIndexes.find((b) => b.column === "email_bidx")!;
const PHONE_BIDX = PATIENTS.blindIndexes.find((b) => b.column === "phone_bidx")!;
const SUB_ANSWERS = sealedColumn(FORM_SUBMISSIONS, "answers_enc");

const PATIENT_COLUMNS =
  "id, first_name, last_name, full_name, gender, city, country, consent, fields_enc, email_bidx, phone_bidx, answers_enc, source, form_id, first_event_id, last_event_id, events_count, submitted_at, created_at, updated_at";
const SUBMISSION_COLUMNS = "event_id, source, form_id, patient_id, submitted_at, answers_enc";
const EVENT_COLUMNS = "event_id, received_at, source, form_id, submitted_at, patient_id";

/** Rows of patients [from, to) as three COPY text chunks. */
function chunk(
  keys: Keys,
  from: number,
  to: number,
  clientOf: Map<string, string> | null,
): { patients: string; submissions: string; events: string; eventIds: string } {
  const p: string[] = [];
  const g: string[] = [];
  const s: string[] = [];
  const e: string[] = [];
  for (let i = from; i < to; i++) {
    const x = seedPatient(i);
    const fullName = `${x.firstName} ${x.lastName}`;
    const answers = {
      Vorname: x.firstName,
      Nachname: x.lastName,
      "E-Mail": x.email,
      Telefon: x.phone,
      Geburtsdatum: x.dob,
      Straße: x.street,
      PLZ: x.postalCode,
      Ort: x.city,
      Datenschutz: true,
    };
    const client = clientOf ? [clientOf.get(x.source)!] : [];
    const eventIds = Array.from({ length: x.events }, (_, k) => `bench-${i}-${k}`);
    const times = eventIds.map((_, k) => x.submittedAt - (x.events - 1 - k) * 86_400_000 * 3);
    const last = new Date(times.at(-1)!).toISOString();
    p.push(
      [
        String(i),
        text(x.firstName),
        text(x.lastName),
        text(fullName),
        x.gender,
        text(x.city),
        "DE",
        "t",
        hex(
          sealPacked(keys, PACKED_PATIENT_FIELDS, {
            email: x.email,
            phone: x.phone,
            dateOfBirth: x.dob,
            street: x.street,
            postalCode: x.postalCode,
          }),
        ),
        hex(indexCell(keys, EMAIL_BIDX, x.email)),
        hex(indexCell(keys, PHONE_BIDX, x.phone)),
        hex(sealCell(keys, ANSWERS, answers)),
        x.source,
        x.formId,
        eventIds[0]!,
        eventIds.at(-1)!,
        String(x.events),
        last,
        new Date(times[0]!).toISOString(),
        last,
        ...client,
      ].join("\t"),
    );
    const patient = {
      firstName: x.firstName,
      lastName: x.lastName,
      fullName,
      email: x.email,
      phone: x.phone,
      dateOfBirth: x.dob,
      street: x.street,
      postalCode: x.postalCode,
      city: x.city,
      country: "DE",
      gender: x.gender,
      consent: true,
    };
    for (const [k, eventId] of eventIds.entries()) {
      const at = new Date(times[k]!).toISOString();
      s.push(
        [eventId, x.source, x.formId, String(i), at, hex(sealCell(keys, SUB_ANSWERS, answers)), ...client].join("\t"),
      );
      const canonical = {
        source: x.source,
        formId: x.formId,
        providerEventId: null,
        submittedAt: at,
        answers: Object.entries(answers).map(([label, value]) => ({ label, value })),
        patient,
        confidence: {},
        provenance: Object.fromEntries(
          [
            ["firstName", "Vorname"],
            ["lastName", "Nachname"],
            ["email", "E-Mail"],
            ["phone", "Telefon"],
            ["dateOfBirth", "Geburtsdatum"],
            ["street", "Straße"],
            ["postalCode", "PLZ"],
            ["city", "Ort"],
            ["consent", "Datenschutz"],
          ].map(([f, label]) => [f, { label, method: "label" }]),
        ),
        eventId,
      };
      const receivedAt = new Date(times[k]! + 1500).toISOString();
      g.push(`${eventId}\t${receivedAt}\t${hex(sealCell(keys, CANONICAL_FORM, canonical))}`);
      e.push([eventId, receivedAt, x.source, x.formId, at, String(i), ...client].join("\t"));
    }
  }
  const lines = (rows: string[]) => (rows.length ? `${rows.join("\n")}\n` : "");
  return { patients: lines(p), submissions: lines(s), events: lines(e), eventIds: lines(g) };
}

/** COPY `rows` into `table`: one COPY per call, fed in order. */
async function copyInto(sql: Sql, table: string, columns: string, chunks: AsyncIterable<string>): Promise<void> {
  const writable = (await sql.unsafe(`copy ${table} (${columns}) from stdin`).writable()) as Writable;
  await pipeline(chunks, writable);
}

/** An async queue the generator fills and three COPYs drain, so generation and loading overlap. */
function channel() {
  const items: (string | null)[] = [];
  let wake: (() => void) | null = null;
  return {
    push(item: string | null) {
      items.push(item);
      wake?.();
      wake = null;
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (items.length === 0) await new Promise<void>((r) => (wake = r));
        const item = items.shift()!;
        if (item === null) return;
        yield item;
      }
    },
    get size() {
      return items.length;
    },
  };
}

export interface SeedResult {
  patients: number;
  submissions: number;
  seconds: number;
  indexSeconds: number;
  /** A kept database reused (--dashboard-keep-db): seeded by an earlier run, read into the page cache in `prewarmSeconds`. */
  reused?: { prewarmMb: number; prewarmSeconds: number };
}

/**
 * Loads N patients. The search indexes are dropped before the COPY and built again after it
 * (from their own definitions, read from the catalog: the migration stays their one source), as
 * a bulk load should; then ANALYZE.
 */
export async function seedPatients(
  sql: Sql,
  keys: Keys,
  n: number,
  onProgress: (done: number) => void = () => {},
): Promise<SeedResult> {
  const t0 = performance.now();
  const db = await sql.reserve();
  try {
    // A partition for every month the submissions span.
    await db`select hookline_ensure_month_partition(d) from generate_series('2024-10-01'::timestamptz, '2026-12-01'::timestamptz, interval '1 month') d`;
    // With clients (migration 011): one client a source, stamped on every row as its trigger would.
    const withClients = (await db`select to_regclass('clients') is not null as yes`)[0]!.yes as boolean;
    let clientOf: Map<string, string> | null = null;
    if (withClients) {
      clientOf = new Map();
      for (const [k, source] of SOURCES.entries()) {
        const [row] = await db`insert into clients (name) values (${`Bench Praxis ${k + 1}`}) returning id`;
        clientOf.set(source, String(row!.id));
      }
    }
    const extra = withClients ? ", client_id" : "";
    // Secondary indexes and the submissions' foreign key are dropped for the load and made again
    // after it, from their definitions in the catalog (the migrations stay their one source).
    const indexes = await db<{ name: string; def: string }[]>`
      select indexname as name, indexdef as def from pg_indexes
      where tablename in ('patients', 'form_submissions', 'patient_search', 'patient_search_words')
        and indexname not like '%_pkey' and indexdef not like '%UNIQUE%'`;
    // patient_search (012) is kept by row triggers; at this size it is filled once, after the load.
    const searchTriggers = await db<{ table: string; name: string }[]>`
      select c.relname as table, t.tgname as name from pg_trigger t join pg_class c on c.oid = t.tgrelid
      where not t.tgisinternal and t.tgname in ('patients_search_insert', 'patient_search_words')`;
    const fks = await db<{ name: string; def: string }[]>`
      select conname as name, pg_get_constraintdef(oid) as def from pg_constraint
      where conrelid = 'form_submissions'::regclass and contype = 'f'`;
    // COPY refuses tables under forced row-level security (011): lifted for the load, this
    // database being the bench's own, and forced again after it.
    const forced = await db<{ name: string }[]>`
      select relname as name from pg_class
      where relname in ('patients', 'form_submissions', 'webhook_events') and relforcerowsecurity`;
    for (const t of forced) await db.unsafe(`alter table ${t.name} no force row level security`);
    for (const i of indexes) await db.unsafe(`drop index ${i.name}`);
    for (const f of fks) await db.unsafe(`alter table form_submissions drop constraint ${f.name}`);
    for (const t of searchTriggers) await db.unsafe(`alter table ${t.table} disable trigger ${t.name}`);

    const channels = { patients: channel(), submissions: channel(), events: channel(), eventIds: channel() };
    const loads = [
      copyInto(sql, "patients", PATIENT_COLUMNS + extra, channels.patients),
      copyInto(sql, "form_submissions", SUBMISSION_COLUMNS + extra, channels.submissions),
      copyInto(sql, "webhook_events", EVENT_COLUMNS + extra, channels.events),
      // The projector's id guard (001), holding the event's canonical form (023).
      copyInto(sql, "webhook_event_ids", "event_id, received_at, canonical_enc", channels.eventIds),
    ];
    let submissions = 0;
    const STEP = 2000;
    for (let from = 1; from <= n; from += STEP) {
      const c = chunk(keys, from, Math.min(n + 1, from + STEP), clientOf);
      channels.patients.push(c.patients);
      channels.submissions.push(c.submissions);
      channels.events.push(c.events);
      channels.eventIds.push(c.eventIds);
      submissions += c.submissions.split("\n").length - 1;
      onProgress(Math.min(n, from + STEP - 1));
      // Back-pressure: let the COPYs catch up rather than hold the whole set in memory.
      while (channels.events.size > 10 || channels.patients.size > 10) await Bun.sleep(5);
      await Bun.sleep(0);
    }
    for (const c of Object.values(channels)) c.push(null);
    await Promise.all(loads);
    await db`select setval(pg_get_serial_sequence('patients', 'id'), ${n})`;
    if (searchTriggers.length) {
      // What the triggers would have written, in two statements.
      await db`insert into patient_search (id, client_id, search_text)
        select id, client_id, hookline_search_text(first_name, last_name, full_name, city) from patients`;
      await db`insert into patient_search_words (client_key, word)
        select distinct coalesce(client_id, 0), lexeme from patient_search, unnest(search_vector) on conflict do nothing`;
      for (const t of searchTriggers) await db.unsafe(`alter table ${t.table} enable trigger ${t.name}`);
    }
    const t1 = performance.now();
    await db`set maintenance_work_mem = '256MB'`;
    for (const i of indexes) await db.unsafe(i.def);
    for (const f of fks) await db.unsafe(`alter table form_submissions add constraint ${f.name} ${f.def}`);
    for (const t of forced) await db.unsafe(`alter table ${t.name} force row level security`);
    // As a database that has been running would be: visibility maps set, statistics current
    // (and no autovacuum of the freshly loaded tables in the middle of the measurements).
    await db`vacuum (analyze) patients, patient_search, patient_search_words, form_submissions, webhook_event_ids, webhook_events`;
    await db`analyze patients`;
    await db`analyze form_submissions`;
    await db`analyze webhook_events`;
    await db`analyze patient_search`;
    await db`analyze patient_search_words`;
    return {
      patients: n,
      submissions,
      seconds: Math.round((t1 - t0) / 100) / 10,
      indexSeconds: Math.round((performance.now() - t1) / 100) / 10,
    };
  } finally {
    db.release();
  }
}
