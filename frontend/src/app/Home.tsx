import { useTranslation } from "react-i18next";
import { Navigate } from "react-router";

import { useMailboxesList } from "../api/generated/endpoints/mailboxes/mailboxes";
import type { Mailbox } from "../api/generated/model";
import { ErrorMessage, Loading } from "../ui/Status";
import { listPath } from "./paths";

/** `/` opens the inbox of the caller's own mailbox (or of the first they can see). */
export function Home() {
  const { t } = useTranslation();
  const mailboxes = useMailboxesList();
  if (mailboxes.isPending) return <Loading />;
  if (mailboxes.error) {
    return <ErrorMessage error={mailboxes.error} onRetry={() => void mailboxes.refetch()} />;
  }
  const first = homeMailbox(mailboxes.data);
  if (!first) {
    return (
      <main className="pane page-message" id="conversations">
        <p>{t("mailboxes.none")}</p>
      </main>
    );
  }
  return <Navigate to={listPath({ mailboxId: first.id, folder: "inbox" })} replace />;
}

/** The mailbox `/` opens: the caller's own, else the first they can see. */
export function homeMailbox(mailboxes: readonly Mailbox[]): Mailbox | undefined {
  return mailboxes.find((mailbox) => mailbox.kind === "personal") ?? mailboxes[0];
}
