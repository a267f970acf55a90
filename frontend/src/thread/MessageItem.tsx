import { useId, useState } from "react";
import { useTranslation } from "react-i18next";

import type { Message, RecipientKindEnum } from "../api/generated/model";
import { useCompose } from "../compose/ComposeProvider";
import { formatFullDate, formatSize, personLabel } from "../ui/format";
import { DeliveryStatus, hasDeliveryStatus } from "./DeliveryStatus";
import { MessageBody } from "./MessageBody";

const KINDS: RecipientKindEnum[] = ["to", "cc", "bcc"];

export function MessageItem({ message, initiallyOpen }: { message: Message; initiallyOpen: boolean }) {
  const { t, i18n } = useTranslation();
  const [open, setOpen] = useState(initiallyOpen);
  const compose = useCompose();
  const bodyId = useId();
  const sender = message.sender.name || message.sender.email;
  const date = message.sent_at ?? message.received_at;
  return (
    <li className={["message", open ? "open" : "collapsed", message.is_unread ? "unread" : ""].join(" ")}>
      <button
        type="button"
        className="message-header"
        aria-expanded={open}
        aria-controls={bodyId}
        onClick={() => setOpen(!open)}
      >
        <span className="sender">
          {sender}
          {message.is_draft && <span className="chip draft-chip">{t("threads.draft")}</span>}
        </span>
        {!open && <span className="snippet">{message.snippet}</span>}
        <time dateTime={date}>{formatFullDate(date, i18n.language)}</time>
      </button>
      <div id={bodyId} hidden={!open} className="message-content">
        {open && (
          <>
            <dl className="message-meta">
              <dt>{t("thread.from")}</dt>
              <dd>{personLabel(message.sender)}</dd>
              {KINDS.map((kind) => {
                const people = message.recipients.filter((recipient) => recipient.kind === kind);
                if (people.length === 0) return null;
                return (
                  <div key={kind} className="meta-row">
                    <dt>{t(`thread.recipients.${kind}`)}</dt>
                    <dd>{people.map(personLabel).join(", ")}</dd>
                  </div>
                );
              })}
              <dt>{t("thread.date")}</dt>
              <dd>{formatFullDate(date, i18n.language)}</dd>
            </dl>
            {message.is_malformed && (
              <p className="notice" role="note">
                {t("thread.malformed")}{" "}
                <a href={`/api/v1.0/messages/${encodeURIComponent(message.id)}/raw/`}>{t("thread.rawSource")}</a>
              </p>
            )}
            {message.is_sender && !message.is_draft && hasDeliveryStatus(message) && <DeliveryStatus message={message} />}
            <MessageBody message={message} />
            {message.attachments.length > 0 && (
              <section className="attachments" aria-label={t("thread.attachments")}>
                <h3>{t("thread.attachmentsCount", { count: message.attachments.length })}</h3>
                <ul>
                  {message.attachments.map((attachment) => (
                    <li key={attachment.id}>
                      <a href={attachment.download_url} download={attachment.filename || true}>
                        {attachment.filename || t("thread.unnamedAttachment")}
                      </a>{" "}
                      <span className="size">{formatSize(attachment.size, i18n.language)}</span>
                    </li>
                  ))}
                </ul>
              </section>
            )}
            <div className="message-actions">
              {message.is_draft ? (
                <button type="button" onClick={() => compose.editDraft(message)}>
                  {t("thread.editDraft")}
                </button>
              ) : (
                <>
                  <button type="button" onClick={() => compose.reply(message, false)}>
                    {t("thread.reply")}
                  </button>
                  <button type="button" onClick={() => compose.reply(message, true)}>
                    {t("thread.replyAll")}
                  </button>
                  <button type="button" onClick={() => compose.forward(message)}>
                    {t("thread.forward")}
                  </button>
                </>
              )}
            </div>
          </>
        )}
      </div>
    </li>
  );
}
