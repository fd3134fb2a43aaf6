// Command line of ops/bench/run. Defaults are the full run (< 10 min on 2 cores);
// --smoke shrinks every suite to seconds.
import { parseTracingSettings, type TracingSetting } from "./tracing.ts";

const SUITES = ["ingest", "projector", "e2e", "resources"] as const;
/** Suites run only when named (the dashboard suite seeds a million patients: minutes). */
const OPT_IN = ["dashboard"] as const;
type Suite = (typeof SUITES)[number] | (typeof OPT_IN)[number];

export interface Options {
  suites: Set<Suite>;
  smoke: boolean;
  json: string | null;
  readme: boolean;
  seconds: number;
  repeats: number;
  concurrencies: number[];
  peers: boolean;
  backlog: number;
  twoProjectors: boolean;
  e2eSeconds: number;
  maxPool: number;
  /** With the ingest suite: the ingress again with tracing at each setting (off, ratios). */
  tracing: TracingSetting[] | null;
  /** Encryption at rest on and/or off, measured in the same run (ingest and projector suites). */
  encryption: ("on" | "off")[];
  /** Projector CPU profiles (bun --cpu-prof) go here. */
  cpuProfDir: string | null;
  /** Webhooks/s the e2e suite offers. */
  e2eRate: number;
  /** The dashboard suite: patients seeded, clients in the closed loop, seconds per request kind. */
  patients: number;
  dashboardConcurrency: number;
  dashboardSeconds: number;
  /** The dashboard suite keeps its seeded database (and keys) and reuses it in the next run with the same N. */
  dashboardKeepDb: boolean;
  /** The dashboard suite's request kinds measured (null: all, and the page's first rows). */
  dashboardKinds: string[] | null;
}

const USAGE = `usage: ops/bench/run [suite ...] [options]
suites: ingest projector e2e resources (default: all; resources is measured during ingest and e2e)
        dashboard (only when named: seeds --patients patients, measures the API and the page)
  --smoke              every suite at a tiny load, in seconds (does not touch the README)
  --json FILE          write results (schema hookline-bench/2) to FILE
  --no-readme          do not rewrite README's Performance section (default: rewritten on a full, non-smoke run of all suites)
  --seconds N          seconds per load run (default 8)
  --repeats N          repeats per ingest point, median reported (default 1)
  --concurrency LIST   in-flight requests, comma-separated (default 16,64,256)
  --no-peers           skip the Express/BullMQ peers
  --backlog N          projector backlog events (default 100000)
  --one-projector      skip the 2-process projector run
  --e2e-seconds N      e2e load duration (default 10)
  --patients N         dashboard: patients seeded (default 1000000; smoke 2000)
  --dashboard-concurrency N  dashboard: clients in the closed loop (default 8)
  --dashboard-seconds N      dashboard: seconds per request kind (default 10)
  --dashboard-keep-db        dashboard: keep the seeded database (hookline_bench_dash_kept_<N>) and reuse
                             it when it is there (skips minutes of seeding; migrations are applied to it)
  --dashboard-kinds LIST     dashboard: only these request kinds, comma-separated (list, email, name, typo,
                             phone, detail, rows = the page's first rows); default all
  --tracing LIST       with ingest: also the ingress with tracing off and sampled at each ratio,
                       spans exported to a Jaeger on this machine, e.g. off,0.1,1
  --encryption LIST    on,off (default): ingest and projector with encryption at rest on and off in
                       the same run, with the ratio; "on" alone skips the comparison. Off exists
                       only here (JetStream store cipher off, cipher swapped by ops/bench/no-encryption.ts)
  --e2e-rate N         webhooks/s offered in e2e (default 5000, issue #13's goal)
  --cpu-prof DIR       write each projector's CPU profile (bun --cpu-prof) to DIR, print its top functions`;

export function parseArgs(argv: string[]): Options {
  const o: Options = {
    suites: new Set(),
    smoke: false,
    json: null,
    readme: true,
    seconds: 8,
    repeats: 1,
    concurrencies: [16, 64, 256],
    peers: true,
    backlog: 100_000,
    twoProjectors: true,
    e2eSeconds: 10,
    maxPool: 400_000,
    tracing: null,
    encryption: ["on", "off"],
    cpuProfDir: null,
    e2eRate: 5000,
    patients: 1_000_000,
    dashboardConcurrency: 8,
    dashboardSeconds: 10,
    dashboardKeepDb: false,
    dashboardKinds: null,
  };
  let explicitPatients = false;
  let explicitReadme = false;
  const num = (v: string | undefined, flag: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case "--smoke":
        o.smoke = true;
        break;
      case "--json":
        o.json = argv[++i] ?? "";
        if (!o.json) throw new Error("--json needs a file");
        break;
      case "--no-readme":
        o.readme = false;
        explicitReadme = true;
        break;
      case "--readme":
        o.readme = true;
        explicitReadme = true;
        break;
      case "--seconds":
        o.seconds = num(argv[++i], a);
        break;
      case "--repeats":
        o.repeats = Math.round(num(argv[++i], a));
        break;
      case "--concurrency":
        o.concurrencies = (argv[++i] ?? "").split(",").map((s) => Math.round(num(s, a)));
        break;
      case "--no-peers":
        o.peers = false;
        break;
      case "--backlog":
        o.backlog = Math.round(num(argv[++i], a));
        break;
      case "--one-projector":
        o.twoProjectors = false;
        break;
      case "--e2e-seconds":
        o.e2eSeconds = num(argv[++i], a);
        break;
      case "--patients":
        o.patients = Math.round(num(argv[++i], a));
        explicitPatients = true;
        break;
      case "--dashboard-concurrency":
        o.dashboardConcurrency = Math.round(num(argv[++i], a));
        break;
      case "--dashboard-seconds":
        o.dashboardSeconds = num(argv[++i], a);
        break;
      case "--dashboard-keep-db":
        o.dashboardKeepDb = true;
        break;
      case "--dashboard-kinds":
        o.dashboardKinds = (argv[++i] ?? "").split(",").map((k) => k.trim());
        break;
      case "--tracing":
        o.tracing = parseTracingSettings(argv[++i] ?? "");
        break;
      case "--encryption": {
        const list = (argv[++i] ?? "").split(",").map((e) => e.trim());
        if (list.length === 0 || !list.every((e) => e === "on" || e === "off") || new Set(list).size !== list.length)
          throw new Error(`--encryption takes on, off or on,off\n${USAGE}`);
        o.encryption = list as ("on" | "off")[];
        break;
      }
      case "--cpu-prof":
        o.cpuProfDir = argv[++i] ?? "";
        if (!o.cpuProfDir) throw new Error("--cpu-prof needs a directory");
        break;
      case "--e2e-rate":
        o.e2eRate = Math.round(num(argv[++i], a));
        break;
      case "-h":
      case "--help":
        throw new Error(USAGE);
      default:
        if (a === "all") for (const s of SUITES) o.suites.add(s);
        else if ((SUITES as readonly string[]).includes(a) || (OPT_IN as readonly string[]).includes(a))
          o.suites.add(a as Suite);
        else throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
  }
  const all = o.suites.size === 0 || o.suites.size === SUITES.length;
  if (o.suites.size === 0) for (const s of SUITES) o.suites.add(s);
  if (o.smoke) {
    o.seconds = 1;
    o.repeats = 1;
    o.concurrencies = [16];
    o.backlog = Math.min(o.backlog, 2000);
    o.e2eSeconds = 2;
    o.maxPool = 20_000;
    if (!explicitPatients) o.patients = 2000;
    o.dashboardSeconds = 1;
  }
  if (o.tracing && !o.suites.has("ingest")) throw new Error(`--tracing needs the ingest suite\n${USAGE}`);
  // Only a full run of every suite may replace the README's figures.
  if (!explicitReadme) o.readme = all && !o.smoke;
  if (o.smoke && !explicitReadme) o.readme = false;
  return o;
}
