// The Outbox: mail this mailbox sent that has not reached every recipient yet, each
// recipient's state (scheduled, sending, retrying, failed) and what can be done
// (cancel before it leaves, retry now): the thread view's DeliveryStatus.
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";

import { useOutboxList } from "../api/generated/endpoints/outbox/outbox";
import { POLL_MS } from "../api/queryClient";
import { KeyboardShortcuts } from "../app/KeyboardShortcuts";
import { threadPath } from "../app/paths";
import { DeliveryStatus } from "../thread/DeliveryStatus";
import { formatFullDate } from "../ui/format";
import { useDocumentTitle } from "../ui/useDocumentTitle";
import { ErrorMessage, Loading } from "../ui/Status";

// States change by themselves (the worker sends, retries): poll faster than the lists.
const OUTBOX_POLL_MS = Math.min(POLL_MS, 10_000);
// No conversation list here: the shortcuts that act on one (j, e, #…) find none.
const NO_SELECTION = { ids: new Set<string>(), set: () => undefined };

export function OutboxPane() {
  const { t, i18n } = useTranslation();
  const { mailboxId = "" } = useParams();
  const outbox = useOutboxList({ mailbox: mailboxId }, { query: { refetchInterval: OUTBOX_POLL_MS } });
  useDocumentTitle(t("folders.outbox"));

  return (
    <>
      <KeyboardShortcuts place={{ mailboxId }} selection={NO_SELECTION} />
      <main id="conversations" className="pane outbox-pane" aria-labelledby="outbox-heading" tabIndex={-1}>
        <h1 id="outbox-heading" className="outbox-heading">{t("folders.outbox")}</h1>
        <p className="outbox-intro">{t("outbox.intro")}</p>
        {outbox.isPending && <Loading />}
        {outbox.error && <ErrorMessage error={outbox.error} onRetry={() => void outbox.refetch()} />}
        {outbox.data && outbox.data.length === 0 && <p className="empty">{t("outbox.empty")}</p>}
        {outbox.data && outbox.data.length > 0 && (
          <ul className="outbox-list" aria-labelledby="outbox-heading">
            {outbox.data.map((message) => {
              const subject = message.subject || t("thread.noSubject");
              return (
                <li key={message.id} className="outbox-item">
                  <article aria-label={subject}>
                    <h2>
                      <Link to={threadPath({ mailboxId, folder: "sent" }, message.thread)}>{subject}</Link>
                    </h2>
                    {/* Before send_at, DeliveryStatus says when it leaves (with Cancel). */}
                    {message.send_at && new Date(message.send_at).getTime() <= Date.now() && (
                      <p className="outbox-when">
                        {t("outbox.sentAt", { date: formatFullDate(message.send_at, i18n.language) })}
                      </p>
                    )}
                    <DeliveryStatus message={message} />
                  </article>
                </li>
              );
            })}
          </ul>
        )}
      </main>
    </>
  );
}
