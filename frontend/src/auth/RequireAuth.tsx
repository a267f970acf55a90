import { createContext, useContext, useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, Outlet, useLocation } from "react-router";

import { useUsersMeRetrieve } from "../api/generated/endpoints/users/users";
import type { User } from "../api/generated/model";
import { ApiError } from "../api/http";
import { loginPath } from "../app/paths";
import { applyLanguage, isLanguage } from "../i18n";
import { ErrorMessage, Loading } from "../ui/Status";

const CurrentUser = createContext<User | null>(null);

export function useCurrentUser(): User {
  const user = useContext(CurrentUser);
  if (!user) throw new Error("useCurrentUser outside <RequireAuth>");
  return user;
}

/** Renders its pages for a logged-in user; anyone else goes to the login page. */
export function RequireAuth() {
  const location = useLocation();
  const { i18n } = useTranslation();
  const me = useUsersMeRetrieve({ query: { staleTime: Infinity } });
  const language = me.data?.language;

  useEffect(() => {
    // The account's language wins over the browser's.
    if (isLanguage(language) && language !== i18n.language) void applyLanguage(i18n, language);
  }, [language, i18n]);

  if (me.isPending) return <Loading />;
  if (me.error) {
    if (me.error instanceof ApiError && me.error.status === 401) {
      const here = location.pathname + location.search;
      return <Navigate to={loginPath(here)} replace />;
    }
    return (
      <main className="page-message">
        <ErrorMessage error={me.error} onRetry={() => void me.refetch()} />
      </main>
    );
  }
  return (
    <CurrentUser.Provider value={me.data}>
      <Outlet />
    </CurrentUser.Provider>
  );
}
