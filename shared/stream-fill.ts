// How full the streams are, for the ingress's /metrics and `./ops/hookline stream`. The
// metrics read stream info in the background every few seconds, never on a request's path;
// a scrape reports the last read (nothing when the last read failed, rather than stale values).
import type { JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import type { Meter } from "@opentelemetry/api";
import type { Logger } from "./logger.ts";

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

export interface StreamFillWatch {
  stop(): void;
}

/** Keeps hookline_stream_* gauges (label `stream`) up to date from stream info. */
export function watchStreamFill(deps: {
  jsm: JetStreamManager;
  meter: Meter;
  log: Logger;
  streams: string[];
  intervalMs?: number;
}): StreamFillWatch {
  const intervalMs = deps.intervalMs ?? 5000;
  let latest: StreamFill[] = [];
  const gauge = (name: string, description: string, value: (f: StreamFill) => number) =>
    deps.meter.createObservableGauge(name, { description }).addCallback((result) => {
      for (const f of latest) result.observe(value(f), { stream: f.stream });
    });
  gauge("hookline_stream_messages", "Messages in the stream (in WEBHOOKS: not yet projected)", (f) => f.messages);
  gauge("hookline_stream_bytes", "Bytes stored in the stream", (f) => f.bytes);
  gauge(
    "hookline_stream_max_bytes",
    "The stream's byte limit (-1: none); WEBHOOKS refuses webhooks when it is reached",
    (f) => f.maxBytes,
  );
  gauge("hookline_stream_max_messages", "The stream's message limit (-1: none)", (f) => f.maxMsgs);
  gauge(
    "hookline_stream_fill_ratio",
    "How full the stream is against its tightest limit (1: refusing)",
    (f) => f.fillRatio,
  );

  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failing = false;
  const read = async () => {
    try {
      const fills: StreamFill[] = [];
      for (const name of deps.streams) fills.push(fillOf(await deps.jsm.streams.info(name)));
      latest = fills;
      failing = false;
    } catch (error) {
      latest = [];
      if (!failing)
        deps.log.warn(
          { err: (error as Error).message },
          "reading stream fill failed; hookline_stream_* absent until it succeeds",
        );
      failing = true;
    }
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
