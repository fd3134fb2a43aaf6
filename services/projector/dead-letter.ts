// The projector's dead-lettering: a copy of the message, with its original headers and the
// reason (shared/dead-letters.ts), in WEBHOOKS_DLQ.

import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { setReasonHeaders } from "../../shared/dead-letters.ts";
import { dlqSubject, H, messageSource } from "../../shared/nats.ts";

export type DeadLetterWriter = (msg: JsMsg, code: string, reason: string) => Promise<void>;

/** Copies the message with its original headers plus the reason into WEBHOOKS_DLQ. */
export function createDeadLetterWriter(js: JetStreamClient): DeadLetterWriter {
  return async (msg, code, reason) => {
    const h = natsHeaders();
    if (msg.headers)
      for (const [key, values] of msg.headers) for (const value of values) if (key !== H.msgId) h.append(key, value);
    setReasonHeaders(h, {
      code,
      reason,
      originalSubject: msg.subject,
      originalSeq: msg.seq,
      deliveries: msg.info.deliveryCount,
    });
    // Msg id keyed on the stream sequence: a retried dead-lettering is stored once.
    await js.publish(dlqSubject("projector", messageSource(msg)), msg.data, {
      headers: h,
      msgID: `projector-${msg.seq}`,
    });
  };
}
