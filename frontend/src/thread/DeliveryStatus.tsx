// On mail this mailbox sent: when it leaves (with a way to cancel before), and what
// became of each recipient (queued, sent, delivered, retrying, failed, with the
// server's reply), with "Retry now" when some failed or wait for a retry.
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { invalidateMail } from "../api/cache";
import { messagesCancelSend, messagesRetrySend } from "../api/generated/endpoints/messages/messages";
import type { Message } from "../api/generated/model";
import { useCompose } from "../compose/ComposeProvider";
import { formatFullDate, personLabel } from "../ui/format";
import { ErrorMessage } from "../ui/Status";
import { recipientState } from "./deliveryState";

/** Sent mail that went through our sending (imported or seeded mail has no statuses). */
export function hasDeliveryStatus(message: Message): boolean {
  return message.send_at !== null || message.recipients.some((r) => recipientState(r, null, 0) !== null);
}

export function DeliveryStatus({ message, now = Date.now() }: { message: Message; now?: number }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const compose = useCompose();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const waiting = message.send_at !== null && new Date(message.send_at).getTime() > now;
  const sendAtMs = message.send_at ? new Date(message.send_at).getTime() : null;
  useEffect(() => {
    // When the message leaves, its recipients' statuses change: fetch them then.
    if (sendAtMs === null || sendAtMs <= Date.now()) return;
    const timer = setTimeout(() => void invalidateMail(queryClient), Math.min(sendAtMs - Date.now() + 2000, 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [sendAtMs, queryClient]);
  const retryable = message.recipients.some((r) => r.delivery_status === "failed" || r.delivery_status === "retrying");

  const act = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      await invalidateMail(queryClient);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="delivery" aria-label={t("delivery.heading")}>
      {waiting && (
        <p className="notice">
          {t("delivery.leavesAt", { date: formatFullDate(message.send_at, i18n.language) })}{" "}
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              void act(async () => {
                const draft = await messagesCancelSend(message.id);
                compose.editDraft(draft);
              })
            }
          >
            {t("delivery.cancel")}
          </button>
        </p>
      )}
      <ul className="delivery-list">
        {message.recipients.map((recipient) => {
          const state = recipientState(recipient, message.send_at, now);
          if (state === null) return null;
          return (
            <li key={`${recipient.kind}-${recipient.email}`} className={`delivery-${state}`}>
              <span className="delivery-person">{personLabel(recipient)}</span>{" "}
              <span className={`status-chip status-${state}`}>{t(`delivery.status.${state}`)}</span>
              {state === "retrying" && recipient.retry_at && (
                <span className="delivery-when">
                  {" "}
                  {t("delivery.nextTry", { date: formatFullDate(recipient.retry_at, i18n.language) })}
                </span>
              )}
              {recipient.delivery_message && (
                <span className="delivery-reply">
                  {" "}
                  {t("delivery.reply")} <q>{recipient.delivery_message}</q>
                </span>
              )}
            </li>
          );
        })}
      </ul>
      {retryable && (
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            void act(async () => {
              await messagesRetrySend(message.id);
            })
          }
        >
          {t("delivery.retry")}
        </button>
      )}
      {error !== null && <ErrorMessage error={error} />}
    </section>
  );
}
