import { useState } from "react";
import { useTranslation } from "react-i18next";
import { matchPath, Navigate, Outlet, useLocation } from "react-router";

import { KeyboardShortcuts } from "../app/KeyboardShortcuts";
import { listPath } from "../app/paths";
import { usePlace } from "../app/usePlace";
import { NotFound } from "../app/NotFound";
import { ThreadList } from "./ThreadList";

/** The second and third panes: the list of a folder or label, and the open thread. */
export function MailPanes() {
  const { t } = useTranslation();
  const place = usePlace();
  const { pathname } = useLocation();
  const listKey = place.list ? listPath(place.list) : "";
  // The ticked threads belong to one list: another list starts with none.
  const [ticked, setTicked] = useState<{ list: string; ids: Set<string> }>({ list: listKey, ids: new Set() });
  const selection = {
    ids: ticked.list === listKey ? ticked.ids : new Set<string>(),
    set: (ids: Set<string>) => setTicked({ list: listKey, ids }),
  };
  if (!place.list) {
    // A search URL whose query was emptied: the mailbox's inbox.
    return place.mailboxId && matchPath("/mailboxes/:mailboxId/search/*", pathname) ? (
      <Navigate to={listPath({ mailboxId: place.mailboxId, folder: "inbox" })} replace />
    ) : (
      <NotFound />
    );
  }
  return (
    <>
      <KeyboardShortcuts place={place} selection={selection} />
      <main id="conversations" className="pane list-pane" aria-label={t("threads.paneLabel")} tabIndex={-1}>
        <ThreadList place={place.list} selectedId={place.threadId} selection={selection} />
      </main>
      <section
        className={place.threadId ? "pane thread-pane has-thread" : "pane thread-pane"}
        aria-label={t("thread.paneLabel")}
      >
        <Outlet />
      </section>
    </>
  );
}

export function NoThreadSelected() {
  const { t } = useTranslation();
  return <p className="empty centered">{t("thread.noneSelected")}</p>;
}
