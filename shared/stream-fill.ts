// How full the streams are and how far the consumer lags, for /metrics and `./ops/hookline
// stream`. The metrics read stream and consumer info in the background every few seconds,
// never on a request's path; a scrape reports the last read (nothing when the last read
// failed, rather than stale values).
import type { ConsumerInfo, JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import type { Meter } from "@opentelemetry/api";
import type { Logger } from "./logger.ts";
import { gaugeOf, METRICS } from "./metrics.ts";

export interface StreamFill {
  stream: string;
  messages: number;
  bytes: number;
  /** -1: no limit. */
  maxBytes: number;
  maxMsgs: number;
  /** The larger of bytes/max_bytes and messages/max_msgs; at 1 publishes are refused. 0 without limits. */
  fillRatio: number;
}

export function fillOf(info: StreamInfo): StreamFill {
  const { config, state } = info;
  const ratio = (used: number, max: number) => (max > 0 ? used / max : 0);
  return {
    stream: config.name,
    messages: state.messages,
    bytes: state.bytes,
    maxBytes: config.max_bytes,
    maxMsgs: config.max_msgs,
    fillRatio: Math.max(ratio(state.bytes, config.max_bytes), ratio(state.messages, config.max_msgs)),
  };
}

export interface ConsumerLag {
  stream: string;
  consumer: string;
  /** Not yet delivered. */
  pending: number;
  /** Delivered, not yet acked. */
  ackPending: number;
  redelivered: number;
  /** pending + ackPending: what KEDA's nats-jetstream scaler computes. */
  lag: number;
}

export function lagOf(info: ConsumerInfo): ConsumerLag {
  return {
    stream: info.stream_name,
    consumer: info.name,
    pending: info.num_pending,
    ackPending: info.num_ack_pending,
    redelivered: info.num_redelivered,
    lag: info.num_pending + info.num_ack_pending,
  };
}

export interface StreamFillWatch {
  stop(): void;
}

/**
 * Keeps the hookline_stream_* gauges (label `stream`) of `streams` and the hookline_consumer_*
 * gauges (labels `stream`, `consumer`) of `consumers` up to date: one info request each per
 * interval, whoever scrapes.
 */
export function watchStreamFill(deps: {
  jsm: JetStreamManager;
  meter: Meter;
  log: Logger;
  streams: string[];
  consumers?: { stream: string; consumer: string }[];
  intervalMs?: number;
}): StreamFillWatch {
  const intervalMs = deps.intervalMs ?? 5000;
  const consumers = deps.consumers ?? [];
  let fills: StreamFill[] = [];
  let lags: ConsumerLag[] = [];
  if (deps.streams.length) {
    const gauge = (spec: Parameters<typeof gaugeOf>[1], value: (f: StreamFill) => number) =>
      gaugeOf(deps.meter, spec).addCallback((result) => {
        for (const f of fills) result.observe(value(f), { stream: f.stream });
      });
    gauge(METRICS.streamMessages, (f) => f.messages);
    gauge(METRICS.streamBytes, (f) => f.bytes);
    gauge(METRICS.streamMaxBytes, (f) => f.maxBytes);
    gauge(METRICS.streamMaxMessages, (f) => f.maxMsgs);
    gauge(METRICS.streamFillRatio, (f) => f.fillRatio);
  }
  if (consumers.length) {
    const gauge = (spec: Parameters<typeof gaugeOf>[1], value: (l: ConsumerLag) => number) =>
      gaugeOf(deps.meter, spec).addCallback((result) => {
        for (const l of lags) result.observe(value(l), { stream: l.stream, consumer: l.consumer });
      });
    gauge(METRICS.consumerLag, (l) => l.lag);
    gauge(METRICS.consumerPending, (l) => l.pending);
    gauge(METRICS.consumerAckPending, (l) => l.ackPending);
    gauge(METRICS.consumerRedelivered, (l) => l.redelivered);
  }

  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Each kind on its own: a consumer not created yet (no projector ever started) must not hide the streams.
  const failing = { stream: false, consumer: false };
  async function readEach<T>(kind: keyof typeof failing, reads: (() => Promise<T>)[]): Promise<T[]> {
    try {
      const values: T[] = [];
      for (const r of reads) values.push(await r());
      failing[kind] = false;
      return values;
    } catch (error) {
      if (!failing[kind])
        deps.log.warn(
          { err: (error as Error).message },
          `reading ${kind} info failed; hookline_${kind}_* absent until it succeeds`,
        );
      failing[kind] = true;
      return [];
    }
  }
  const read = async () => {
    fills = await readEach(
      "stream",
      deps.streams.map((name) => async () => fillOf(await deps.jsm.streams.info(name))),
    );
    lags = await readEach(
      "consumer",
      consumers.map((c) => async () => lagOf(await deps.jsm.consumers.info(c.stream, c.consumer))),
    );
    if (!stopped) timer = setTimeout(read, intervalMs);
  };
  void read();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
