import { useTranslation } from "react-i18next";
import { useRouteError } from "react-router";

import { ErrorMessage } from "../ui/Status";

/** A page that crashed while rendering: say so, offer a reload, never a stack trace. */
export function RouteError() {
  const { t } = useTranslation();
  const error = useRouteError();
  return (
    <main className="page-message">
      <h1>{t("crash.title")}</h1>
      <ErrorMessage error={error} onRetry={() => window.location.reload()} />
    </main>
  );
}
