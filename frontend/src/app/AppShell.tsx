import { useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Outlet, useNavigate } from "react-router";

import { useAuthLogout } from "../api/generated/endpoints/auth/auth";
import { getUsersMeRetrieveQueryKey, useUsersMePartialUpdate } from "../api/generated/endpoints/users/users";
import type { Logout } from "../api/generated/model";
import { useCurrentUser } from "../auth/RequireAuth";
import { ComposeProvider, useCompose } from "../compose/ComposeProvider";
import { MailboxPane } from "../mailboxes/MailboxPane";
import { SearchBox } from "../search/SearchBox";
import { LanguagePicker } from "../ui/LanguagePicker";
import { ErrorMessage } from "../ui/Status";
import { browser } from "./browser";
import { LOGIN_PATH } from "./paths";

/** The three panes: mailboxes on the left, then the routed list and thread. */
export function AppShell() {
  return (
    <ComposeProvider>
      <Shell />
    </ComposeProvider>
  );
}

function Shell() {
  const { t } = useTranslation();
  const compose = useCompose();
  return (
    <div className="shell">
      <a className="skip-link" href="#conversations">
        {t("shell.skipToList")}
      </a>
      <header className="topbar">
        <span className="brand">{t("app.name")}</span>
        <SearchBox />
        <UserMenu />
      </header>
      <nav className="pane mailbox-pane" aria-label={t("mailboxes.navLabel")}>
        <button type="button" className="primary compose-button" onClick={compose.compose}>
          {t("compose.new")}
        </button>
        <MailboxPane />
      </nav>
      <Outlet />
    </div>
  );
}

function UserMenu() {
  const { t } = useTranslation();
  const user = useCurrentUser();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const saveLanguage = useUsersMePartialUpdate({
    mutation: {
      onSuccess: (updated) => queryClient.setQueryData(getUsersMeRetrieveQueryKey(), updated),
    },
  });
  const logout = useAuthLogout({
    mutation: {
      onSuccess: (answer: Logout | void) => {
        // An OIDC session also ends at the provider, which sends the browser back.
        if (answer && answer.redirect) {
          browser.leaveTo(answer.redirect);
          return;
        }
        queryClient.clear();
        void navigate(LOGIN_PATH, { replace: true });
      },
    },
  });
  return (
    <div className="user-menu">
      <span className="user-name" title={user.email}>
        {user.full_name || user.email}
      </span>
      <LanguagePicker onChange={(language) => saveLanguage.mutate({ data: { language } })} />
      <button type="button" onClick={() => logout.mutate()} disabled={logout.isPending}>
        {t("shell.logout")}
      </button>
      {logout.error && <ErrorMessage error={logout.error} />}
      {saveLanguage.error && <ErrorMessage error={saveLanguage.error} />}
    </div>
  );
}
