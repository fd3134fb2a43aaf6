// The senders: a steady signed load over all four dev sources (ops/bench/payloads.ts makes and
// signs each request), retried the way form tools retry (an unanswered, dropped, 429 or 5xx
// request is sent again, with backoff, until a 2xx), spread over the ingress processes as a load
// balancer would. Every 2xx-acknowledged event id is recorded, with the fault it was sent under,
// and every answer is counted per fault window: what the senders saw.
import { type BenchRequest, makeRequest } from "../../ops/bench/payloads.ts";

/** What a sender saw for one attempt. */
type Outcome = "2xx" | "429" | "503" | "5xx" | "4xx" | "timeout" | "refused";

export interface Acked {
  /** The ingress's event id (webhook_events.event_id). */
  eventId: string;
  email: string;
  /** The fault window the request was first sent in. */
  window: string;
  at: number;
}

export interface WindowStats {
  outcomes: Record<Outcome, number>;
  /** Slowest non-2xx answer (ms): a refusal must come quickly. */
  slowestRefusalMs: number;
  /** Attempts that got no answer within the sender's timeout. */
  hangs: number;
  acked: number;
  /** When the first and last refusal (non-2xx or no answer) of the window came (epoch ms; 0: none). */
  firstRefusalAt: number;
  lastRefusalAt: number;
}

interface Pending {
  req: BenchRequest;
  window: string;
  attempts: number;
  dueAt: number;
}

export interface LoadOptions {
  /** Ingress base URLs; attempts rotate over them (a retry goes to the next one). */
  targets: string[];
  /** New webhooks a second. */
  rate: number;
  /** A sender gives up on an attempt after this long (providers wait 10-30 s). */
  timeoutMs: number;
  /** Attempts in flight at most (senders' connection pool). */
  maxInFlight?: number;
  /** Unique per run, so ids never collide with an earlier run's. */
  runTag: string;
}

const emptyOutcomes = (): Record<Outcome, number> => ({
  "2xx": 0,
  "429": 0,
  "503": 0,
  "5xx": 0,
  "4xx": 0,
  timeout: 0,
  refused: 0,
});

/** Retry delay after `attempts` failed attempts: 200 ms doubling to 3 s, or Retry-After if sooner. */
export function retryDelayMs(attempts: number, retryAfterSeconds?: number): number {
  const backoff = Math.min(3000, 200 * 2 ** Math.max(0, attempts - 1));
  return retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds)
    ? Math.min(backoff, Math.max(100, retryAfterSeconds * 1000))
    : backoff;
}

export class Load {
  readonly acked: Acked[] = [];
  readonly windows = new Map<string, WindowStats>();
  private window = "warmup";
  private retries: Pending[] = [];
  private inFlight = 0;
  private n = 0;
  private next = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private consecutiveOk = 0;
  /** Latencies (ms) of the 2xx answers since the last takeLatencies(). */
  private latencies: number[] = [];
  /** Attempts started but not yet answered. */
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly opts: LoadOptions) {}

  /** Requests sent from now on belong to `name` (retries keep their first window). */
  setWindow(name: string): void {
    this.window = name;
    if (!this.windows.has(name))
      this.windows.set(name, {
        outcomes: emptyOutcomes(),
        slowestRefusalMs: 0,
        hangs: 0,
        acked: 0,
        firstRefusalAt: 0,
        lastRefusalAt: 0,
      });
  }

  get currentWindow(): string {
    return this.window;
  }

  /** 2xx answers in a row, across all senders (reset by any failure). */
  get okStreak(): number {
    return this.consecutiveOk;
  }

  get retryBacklog(): number {
    return this.retries.length;
  }

  start(): void {
    this.setWindow(this.window);
    const tickMs = 20;
    let credit = 0;
    this.timer = setInterval(() => {
      credit += (this.opts.rate * tickMs) / 1000;
      const now = Date.now();
      // Due retries first: providers retry before sending new events' backlog grows.
      this.retries.sort((a, b) => a.dueAt - b.dueAt);
      while (this.retries.length && this.retries[0]!.dueAt <= now && this.hasRoom()) this.send(this.retries.shift()!);
      for (; credit >= 1; credit--) {
        if (!this.hasRoom()) {
          credit = 0;
          break;
        }
        const req = makeRequest(`${this.opts.runTag}${this.window.replaceAll("-", "")}`, this.n++, Date.now());
        this.send({ req, window: this.window, attempts: 0, dueAt: now });
      }
    }, tickMs);
  }

  /** Stops sending new webhooks; with `drain`, keeps retrying until every sent one is acked (or `timeoutMs`). */
  async stop(drain = true, timeoutMs = 60_000): Promise<void> {
    clearInterval(this.timer);
    const deadline = Date.now() + timeoutMs;
    while (drain && (this.retries.length || this.running.size) && Date.now() < deadline) {
      const now = Date.now();
      this.retries.sort((a, b) => a.dueAt - b.dueAt);
      while (this.retries.length && this.retries[0]!.dueAt <= now && this.hasRoom()) this.send(this.retries.shift()!);
      await Bun.sleep(20);
    }
    await Promise.all(this.running);
  }

  /** Webhooks sent that are neither acked nor still being retried (given up when stop() timed out). */
  get unacked(): number {
    return this.retries.length;
  }

  /**
   * `count` extra attempts at once, `concurrency` in flight, on top of the steady load (the
   * overload fault): each new, each retried until acked like any other.
   */
  async burst(count: number, concurrency: number): Promise<void> {
    const saved = this.opts.maxInFlight;
    this.opts.maxInFlight = (saved ?? 256) + concurrency;
    let started = 0;
    const worker = async () => {
      while (started < count) {
        started++;
        const req = makeRequest(`${this.opts.runTag}${this.window.replaceAll("-", "")}`, this.n++, Date.now());
        await this.attempt({ req, window: this.window, attempts: 0, dueAt: Date.now() });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    this.opts.maxInFlight = saved;
  }

  /** The 2xx latencies collected since the last call (the soak's per-minute percentiles). */
  takeLatencies(): number[] {
    const out = this.latencies;
    this.latencies = [];
    return out;
  }

  private hasRoom(): boolean {
    return this.inFlight < (this.opts.maxInFlight ?? 256);
  }

  private send(p: Pending): void {
    const run = this.attempt(p).finally(() => this.running.delete(run));
    this.running.add(run);
  }

  private async attempt(p: Pending): Promise<void> {
    const { targets, timeoutMs } = this.opts;
    const target = targets[this.next++ % targets.length]!;
    const stats = this.windows.get(this.window)!;
    p.attempts++;
    this.inFlight++;
    const started = Date.now();
    let outcome: Outcome;
    let retryAfter: number | undefined;
    try {
      const res = await fetch(`${target}/v1/webhooks/${p.req.source}`, {
        method: "POST",
        headers: p.req.headers,
        body: p.req.body as Uint8Array<ArrayBuffer>,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const status = res.status;
      if (status >= 200 && status < 300) {
        const body = (await res.json()) as { eventId: string };
        this.acked.push({ eventId: body.eventId, email: p.req.email, window: p.window, at: Date.now() });
        this.windows.get(p.window)!.acked++;
        outcome = "2xx";
      } else {
        await res.arrayBuffer();
        retryAfter = Number(res.headers.get("retry-after") ?? Number.NaN);
        outcome = status === 429 ? "429" : status === 503 ? "503" : status >= 500 ? "5xx" : "4xx";
      }
    } catch (error) {
      const name = (error as Error).name;
      outcome = name === "TimeoutError" || name === "AbortError" ? "timeout" : "refused";
    } finally {
      this.inFlight--;
    }
    const elapsed = Date.now() - started;
    stats.outcomes[outcome]++;
    if (outcome === "timeout") stats.hangs++;
    if (outcome === "2xx") {
      this.latencies.push(elapsed);
      this.consecutiveOk++;
      return;
    }
    this.consecutiveOk = 0;
    stats.firstRefusalAt ||= started;
    stats.lastRefusalAt = Date.now();
    if (outcome !== "refused" && outcome !== "timeout")
      stats.slowestRefusalMs = Math.max(stats.slowestRefusalMs, elapsed);
    // A provider gives up on 4xx other than 429 (hookline answers those only for bad input,
    // which this load never sends: counted, not retried).
    if (outcome === "4xx") return;
    p.dueAt = Date.now() + retryDelayMs(p.attempts, retryAfter);
    this.retries.push(p);
  }
}
