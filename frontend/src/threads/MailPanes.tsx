import { useTranslation } from "react-i18next";
import { Outlet } from "react-router";

import { usePlace } from "../app/usePlace";
import { NotFound } from "../app/NotFound";
import { ThreadList } from "./ThreadList";

/** The second and third panes: the list of a folder or label, and the open thread. */
export function MailPanes() {
  const { t } = useTranslation();
  const place = usePlace();
  if (!place.list) return <NotFound />;
  return (
    <>
      <main id="conversations" className="pane list-pane" aria-label={t("threads.paneLabel")} tabIndex={-1}>
        <ThreadList place={place.list} selectedId={place.threadId} />
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
