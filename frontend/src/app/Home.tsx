import { useTranslation } from "react-i18next";
import { Navigate } from "react-router";

import { useMailboxesList } from "../api/generated/endpoints/mailboxes/mailboxes";
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
  const first = mailboxes.data.find((mailbox) => mailbox.kind === "personal") ?? mailboxes.data[0];
  if (!first) {
    return (
      <main className="pane page-message" id="conversations">
        <p>{t("mailboxes.none")}</p>
      </main>
    );
  }
  return <Navigate to={listPath({ mailboxId: first.id, folder: "inbox" })} replace />;
}
