// What the person sees of a recipient's delivery. The API's "queued" covers two
// moments: before send_at (the undo window or a scheduled send: "scheduled") and after
// it, while the worker hands it over ("sending").
import type { Message, Recipient } from "../api/generated/model";

export type DeliveryState = "scheduled" | "sending" | "retrying" | "failed" | "sent" | "delivered";

export function recipientState(recipient: Recipient, sendAt: string | null, now: number): DeliveryState | null {
  switch (recipient.delivery_status) {
    case "queued":
      return sendAt !== null && new Date(sendAt).getTime() > now ? "scheduled" : "sending";
    case "retrying":
    case "failed":
    case "sent":
    case "delivered":
      return recipient.delivery_status;
    default:
      return null; // received or imported mail: no delivery of ours
  }
}

/** The message's state as a whole: the one needing attention first. */
export function messageState(message: Message, now: number): DeliveryState | null {
  const states = message.recipients
    .map((recipient) => recipientState(recipient, message.send_at, now))
    .filter((state): state is DeliveryState => state !== null);
  const order: DeliveryState[] = ["failed", "retrying", "sending", "scheduled", "sent", "delivered"];
  return order.find((state) => states.includes(state)) ?? null;
}
