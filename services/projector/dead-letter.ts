import { headers as natsHeaders } from "@nats-io/nats-core";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { H, dlqSubject } from "../../shared/nats.ts";

export type DeadLetter = (msg: JsMsg, code: string, reason: string) => Promise<void>;

/** Copies the message with its original headers plus the reason into WEBHOOKS_DLQ. */
export function createDeadLetter(js: JetStreamClient): DeadLetter {
  return async (msg, code, reason) => {
    const h = natsHeaders();
    if (msg.headers) for (const [key, values] of msg.headers) for (const value of values) if (key !== H.msgId) h.append(key, value);
    // Header values may not hold line breaks; reasons from errors can.
    h.set(H.reasonCode, code.replace(/[\r\n]+/g, " "));
    h.set(H.reason, reason.replace(/[\r\n]+/g, " ").slice(0, 1000));
    h.set(H.originalSubject, msg.subject);
    h.set(H.originalSeq, String(msg.seq));
    h.set(H.deliveries, String(msg.info.deliveryCount));
    const source = msg.headers?.get(H.source) || msg.subject.split(".")[1] || "unknown";
    // Msg id keyed on the stream sequence: a retried dead-lettering is stored once.
    await js.publish(dlqSubject("projector", source), msg.data, { headers: h, msgID: `projector-${msg.seq}` });
  };
}
