// Suite "dashboard": the dashboard API and page at N patients (default 1,000,000; --patients).
// Its own database (hookline_bench_dash_<run>) is seeded by COPY (dashboard-seed.ts), a real
// dashboard process serves it, and a closed loop of `concurrency` clients measures each kind of
// request for `seconds`: list (first pages under each sort and filter, and following pages by
// cursor), search by email, partial name, typo and phone, and one patient's detail (a random
// one of N: the cache rarely helps). Then Chromium (playwright-core, Debian's chromium, as the
// page tests run it) signs in to the page and times the first rows. Goals (issue #11): list
// p95 <= 20 ms, search p95 <= 30 ms, detail p95 <= 10 ms, first rows <= 500 ms.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import postgres from "postgres";
import { newKeyText, parseKeyring } from "../../shared/crypto/keyring.ts";
import { migrate } from "../../shared/db/migrate.ts";
import { startService } from "./cluster.ts";
import { type SeedResult, seedPatient, seedPatients } from "./dashboard-seed.ts";
import { dbUrl, dropDatabase, prewarmDatabase, recreateDatabase } from "./db.ts";
import { summarizeProfiles } from "./profile.ts";
import { progress } from "./progress.ts";
import { type Quiet, waitForQuiet } from "./quiet.ts";
import { lifetimeUsage, type ResourceUsage } from "./resources.ts";
import { median, percentile } from "./stats.ts";

interface LatencyResult {
  requests: number;
  errors: number;
  rps: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

export interface DashboardResult {
  patients: number;
  seed: SeedResult;
  concurrency: number;
  seconds: number;
  results: Record<string, LatencyResult>;
  /** Chromium: from submitting the token to the first patient row shown, per try. */
  firstRowsMs: { tries: number[]; median: number; max: number } | null;
  firstRowsError?: string;
  goals: Goal[];
  /** The machine's load average over one minute when the measurements started (it is shared). */
  loadAverage: number;
  /** The wait for a quiet machine before the first kind; absent in older reports. */
  quiet?: Quiet;
  /** The dashboard process over its whole life in the suite (the sizing takes its peak RSS); absent in older reports. */
  dashboardProcess?: ResourceUsage;
}

const TOKEN = "dev-admin-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };

type Request = { method: "GET" | "POST"; path: string; body?: unknown };

/** A closed loop: `concurrency` clients, each sending its next request when the last is answered. */
async function closedLoop(
  baseUrl: string,
  next: () => Request,
  concurrency: number,
  seconds: number,
): Promise<LatencyResult> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const r = next();
        const started = performance.now();
        try {
          const res = await fetch(`${baseUrl}${r.path}`, {
            method: r.method,
            headers: r.body === undefined ? AUTH : { ...AUTH, "content-type": "application/json" },
            body: r.body === undefined ? undefined : JSON.stringify(r.body),
          });
          await res.arrayBuffer();
          if (res.status >= 400) errors++;
          else latencies.push(performance.now() - started);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const ms = (n: number) => Math.round(n * 100) / 100;
  return {
    requests: latencies.length + errors,
    errors,
    rps: Math.round(latencies.length / elapsed),
    latencyMs: {
      p50: ms(percentile(latencies, 50)),
      p95: ms(percentile(latencies, 95)),
      p99: ms(percentile(latencies, 99)),
      max: ms(latencies.at(-1) ?? 0),
    },
  };
}

/** The short name of each request kind, for --dashboard-kinds. */
const KIND_NAMES: Record<string, string> = {
  list: "list",
  "search email": "email",
  "search partial name": "name",
  "search typo": "typo",
  "search phone": "phone",
  detail: "detail",
};

/** A random patient of the seeded N (deterministic generator: the same values the seed wrote). */
const anyPatient = (n: number) => seedPatient(1 + Math.floor(Math.random() * n));

/** The last name with one letter dropped or two swapped: a typo. */
function typo(word: string): string {
  const chars = [...word];
  if (chars.length < 5) return word;
  const i = 1 + Math.floor(Math.random() * (chars.length - 2));
  if (Math.random() < 0.5) chars.splice(i, 1);
  else [chars[i], chars[i + 1]] = [chars[i + 1]!, chars[i]!];
  return chars.join("");
}

/** The phone as a person types it: national notation with spaces. */
const nationalPhone = (e164: string) => `0${e164.slice(3, 6)} ${e164.slice(6)}`;

async function firstRows(dashboardUrl: string, tries: number): Promise<number[]> {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
  });
  const times: number[] = [];
  try {
    for (let i = 0; i < tries; i++) {
      const page = await browser.newPage();
      await page.goto(dashboardUrl);
      await page.waitForSelector("#token-input");
      await page.fill("#token-input", TOKEN);
      const started = await page.evaluate(() => performance.now());
      await page.click("#token-form button");
      await page.waitForSelector("#rows tr", { timeout: 30_000 });
      times.push(Math.round((await page.evaluate(() => performance.now())) - started));
      await page.close();
    }
  } finally {
    await browser.close();
  }
  return times;
}

export async function runDashboard(
  root: string,
  workDir: string,
  tag: string,
  opts: {
    patients: number;
    concurrency: number;
    seconds: number;
    keepDb?: boolean;
    /** The longest wait for a quiet machine before measuring (quiet.ts; default 60 s). */
    quietLimitS?: number;
    cpuProfDir?: string | null;
    /** Short names of the kinds measured (KIND_NAMES; "rows": the page's first rows); null: all. */
    kinds?: string[] | null;
  },
): Promise<DashboardResult> {
  // A kept database (--dashboard-keep-db) is named by N and found again by the next run; its keys
  // file is written only once the seed has finished, so its presence says the seed is whole.
  const name = opts.keepDb ? `hookline_bench_dash_kept_${opts.patients}` : `hookline_bench_dash_${tag}`;
  const keysFile = join(root, "bench-results", `${name}.keys.json`);
  const reuse = opts.keepDb === true && existsSync(keysFile);
  const databaseUrl = dbUrl(name);
  if (!reuse) await recreateDatabase(root, name);
  const sql = postgres(databaseUrl, { max: 8, onnotice: () => {} });
  let dashboard: Awaited<ReturnType<typeof startService>> | null = null;
  try {
    // On a kept database this applies the migrations added since it was seeded, as on a live one.
    await migrate(sql);
    const keyText = reuse
      ? (JSON.parse(readFileSync(keysFile, "utf8")) as { data: string; index: string })
      : { data: newKeyText("bench-data-1"), index: newKeyText("bench-index-1") };
    const keys = { data: parseKeyring(keyText.data, "bench"), blindIndex: parseKeyring(keyText.index, "bench") };
    let seed: SeedResult;
    if (reuse) {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from patients`;
      const [subs] = await sql<{ n: number }[]>`select count(*)::int as n from form_submissions`;
      progress(
        `dashboard: reusing kept database ${name} (${row!.n.toLocaleString("en-US")} patients); reading it into the page cache`,
      );
      const started = performance.now();
      const prewarmMb = await prewarmDatabase(root, name);
      const prewarmSeconds = Math.round((performance.now() - started) / 1000);
      progress(`dashboard: ${prewarmMb.toLocaleString("en-US")} MB read in ${prewarmSeconds} s`);
      seed = {
        patients: row!.n,
        submissions: subs!.n,
        seconds: 0,
        indexSeconds: 0,
        reused: { prewarmMb, prewarmSeconds },
      };
    } else {
      progress(`dashboard: seeding ${opts.patients.toLocaleString("en-US")} patients by COPY`);
      let shown = 0;
      seed = await seedPatients(sql, keys, opts.patients, (done) => {
        if (done - shown >= 100_000) {
          shown = done;
          progress(`dashboard: ${done.toLocaleString("en-US")} patients written`);
        }
      });
      progress(`dashboard: seeded in ${seed.seconds} s, indexes in ${seed.indexSeconds} s`);
      if (opts.keepDb) {
        mkdirSync(dirname(keysFile), { recursive: true });
        writeFileSync(keysFile, JSON.stringify(keyText), { mode: 0o600 });
      }
    }
    if (opts.cpuProfDir) mkdirSync(opts.cpuProfDir, { recursive: true });
    const profileName = `dashboard-${tag}.cpuprofile`;
    const bunArgs = opts.cpuProfDir
      ? ["--cpu-prof", "--cpu-prof-dir", opts.cpuProfDir, "--cpu-prof-name", profileName]
      : [];
    dashboard = await startService(
      root,
      workDir,
      "dashboard",
      "dashboard",
      {
        HOOKLINE_KEYS: keyText.data,
        HOOKLINE_BLIND_INDEX_KEY: keyText.index,
        DATABASE_URL: databaseUrl,
        // Redis DB 4, as the other suites: never the dev cluster's DB 0.
        REDIS_URL: "redis://127.0.0.1:6379/4",
        // Opened only by the dead-letter routes, which this suite does not call.
        NATS_URL: "nats://127.0.0.1:1",
        HOOKLINE_SOURCES: join(root, "ops/dev/sources.yaml"),
        HOOKLINE_ENV: "development",
        HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
        OTEL_SDK_DISABLED: "true",
      },
      bunArgs,
    );
    const url = dashboard.url;
    const n = opts.patients;
    // Cursors of second pages, one per sort, taken once.
    const cursors: string[] = [];
    for (const q of ["", "&sort=submitted", "&sort=name", "&sort=updated"]) {
      const res = (await (await fetch(`${url}/api/v1/patients?limit=50${q}`, { headers: AUTH })).json()) as {
        nextCursor: string | null;
      };
      if (res.nextCursor) cursors.push(`/api/v1/patients?limit=50${q}&cursor=${res.nextCursor}`);
    }
    const sources = ["heyflow", "typeform", "google-forms", "generic"];
    const lists: (() => string)[] = [
      () => "/api/v1/patients?limit=50",
      () => `/api/v1/patients?limit=50&source=${sources[Math.floor(Math.random() * 4)]}`,
      () => `/api/v1/patients?limit=50&form=generic-form-${Math.floor(Math.random() * 6)}`,
      () => "/api/v1/patients?limit=50&sort=submitted&from=2026-01-01T00:00:00Z",
      () => "/api/v1/patients?limit=50&sort=name",
      () => cursors[Math.floor(Math.random() * cursors.length)] ?? "/api/v1/patients?limit=50",
    ];
    const search = (q: string): Request => ({
      method: "POST",
      path: "/api/v1/patients/search",
      body: { q, limit: 50 },
    });
    const kinds: Record<string, () => Request> = {
      list: () => ({ method: "GET", path: lists[Math.floor(Math.random() * lists.length)]!() }),
      "search email": () => search(anyPatient(n).email.toUpperCase()),
      "search partial name": () => {
        const p = anyPatient(n);
        return search(`${p.firstName} ${p.lastName.slice(0, 4)}`);
      },
      "search typo": () => {
        const p = anyPatient(n);
        return search(`${p.firstName} ${typo(p.lastName)}`);
      },
      "search phone": () => search(nationalPhone(anyPatient(n).phone)),
      detail: () => ({ method: "GET", path: `/api/v1/patients/${1 + Math.floor(Math.random() * n)}` }),
    };
    const wanted = (kind: string) => !opts.kinds || opts.kinds.includes(KIND_NAMES[kind] ?? kind);
    const loadAverage = Math.round((await import("node:os")).loadavg()[0]! * 100) / 100;
    // What earlier suites left running (quiet.ts) is waited out, not measured.
    const quiet = await waitForQuiet({ limitS: opts.quietLimitS });
    progress(
      `dashboard: ${quiet.quiet ? "quiet" : "still busy"} after ${quiet.waitedS} s (cores ${quiet.busyPct}% busy in the last second)`,
    );
    const results: Record<string, LatencyResult> = {};
    for (const [kind, next] of Object.entries(kinds).filter(([k]) => wanted(k))) {
      // A short warm-up (connections, plans, the first pages read from disk) is not measured.
      await closedLoop(url, next, opts.concurrency, Math.min(2, opts.seconds));
      results[kind] = await closedLoop(url, next, opts.concurrency, opts.seconds);
      const r = results[kind]!;
      progress(
        `dashboard: ${kind}: ${r.rps} req/s, p50 ${r.latencyMs.p50} ms, p95 ${r.latencyMs.p95} ms, p99 ${r.latencyMs.p99} ms, errors ${r.errors}`,
      );
    }
    let firstRowsMs: DashboardResult["firstRowsMs"] = null;
    let firstRowsError: string | undefined;
    try {
      if (!wanted("rows")) throw new Error("not asked for (--dashboard-kinds)");
      const tries = await firstRows(url, 5);
      firstRowsMs = { tries, median: median(tries), max: Math.max(...tries) };
      progress(`dashboard: first rows in Chromium: ${tries.join(", ")} ms`);
    } catch (error) {
      firstRowsError = (error as Error).message.split("\n")[0];
      progress(`dashboard: first rows not measured: ${firstRowsError}`);
    }
    const searches = Object.entries(results)
      .filter(([k]) => k.startsWith("search"))
      .map(([, r]) => r);
    // Read while it runs: /proc/<pid> goes away with the process.
    const dashboardProcess = lifetimeUsage(dashboard.proc.pid);
    return {
      patients: n,
      seed,
      concurrency: opts.concurrency,
      seconds: opts.seconds,
      results,
      firstRowsMs,
      ...(firstRowsError ? { firstRowsError } : {}),
      goals: [
        p95Goal("list p95", 20, results.list ? [results.list] : []),
        p95Goal("search p95 (worst kind)", 30, searches),
        p95Goal("detail p95", 10, results.detail ? [results.detail] : []),
        judgeGoal("first rows (median)", 500, firstRowsMs?.median ?? null),
      ],
      loadAverage,
      quiet,
      dashboardProcess,
    };
  } finally {
    await dashboard?.proc.stop();
    await sql.end({ timeout: 5 });
    if (!opts.keepDb) await dropDatabase(root, name);
    if (opts.cpuProfDir) progress(`dashboard CPU profile:\n${summarizeProfiles(opts.cpuProfDir, tag)}`);
  }
}

export interface Goal {
  name: string;
  goalMs: number;
  /** null: not measured in this run. */
  measuredMs: number | null;
  met: boolean | null;
  /** Requests that failed while it was measured. */
  failed: number;
}

/** A goal judged: met when measured within it with no request failed (the latency of failures says nothing). */
export function judgeGoal(name: string, goalMs: number, measuredMs: number | null, failed = 0): Goal {
  return { name, goalMs, measuredMs, failed, met: measuredMs === null ? null : failed === 0 && measuredMs <= goalMs };
}

/** A p95 goal over one or more kinds of request: the worst kind's p95, and every kind's failures. */
function p95Goal(name: string, goalMs: number, kinds: LatencyResult[]): Goal {
  const worst = kinds.length ? Math.max(...kinds.map((r) => r.latencyMs.p95)) : null;
  return judgeGoal(
    name,
    goalMs,
    worst,
    kinds.reduce((n, r) => n + r.errors, 0),
  );
}

const verdict = (g: Goal) =>
  g.met === null
    ? "not measured"
    : g.met
      ? "met"
      : g.failed > 0
        ? `missed: ${g.failed.toLocaleString("en-US")} requests failed`
        : "missed";

/** How the suite's database came to be: seeded now, or kept from an earlier run and read into the cache. */
function seeded(seed: SeedResult): string {
  if (!seed.reused) return `seeded by COPY in ${seed.seconds} s + ${seed.indexSeconds} s of index builds`;
  const { prewarmMb, prewarmSeconds } = seed.reused;
  return `seeded by an earlier run and kept (--dashboard-keep-db), its ${prewarmMb.toLocaleString("en-US")} MB read into the page cache in ${prewarmSeconds} s first`;
}

/** The suite's table for the report. */
export function dashboardMarkdown(d: DashboardResult): string {
  const rows = Object.entries(d.results).map(
    ([kind, r]) =>
      `| ${kind} | ${r.rps} | ${r.latencyMs.p50} | ${r.latencyMs.p95} | ${r.latencyMs.p99} | ${r.latencyMs.max} | ${r.errors} |`,
  );
  const goals = d.goals.map((g) => `${g.name} ${g.measuredMs ?? "–"} ms (goal ≤ ${g.goalMs}: ${verdict(g)})`);
  return [
    `**Dashboard** at ${d.patients.toLocaleString("en-US")} patients (${seeded(d.seed)}; ${d.seed.submissions.toLocaleString("en-US")} submissions), ` +
      `${d.concurrency} clients in a closed loop, ${d.seconds} s per kind, load average ${d.loadAverage} at the start` +
      (d.quiet
        ? `, measured ${d.quiet.quiet ? "once the cores were quiet" : "with the cores still busy"} (${d.quiet.busyPct}% busy in the second before, after waiting ${d.quiet.waitedS} s):`
        : ":"),
    "",
    "| request | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    `First rows in Chromium (token submitted → first patient row): ${d.firstRowsMs ? `${d.firstRowsMs.tries.join(", ")} ms` : `not measured (${d.firstRowsError})`}. ${goals.join("; ")}.` +
      (d.dashboardProcess
        ? ` The dashboard process over the suite: ${d.dashboardProcess.cpuSeconds} CPU s, peak RSS ${d.dashboardProcess.peakRssMb} MiB.`
        : ""),
  ].join("\n");
}
