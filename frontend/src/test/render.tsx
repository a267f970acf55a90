import { render } from "@testing-library/react";
import { createMemoryRouter } from "react-router";

import { createQueryClient } from "../api/queryClient";
import { App } from "../app/App";
import { routes } from "../app/routes";
import { createI18n, type Language } from "../i18n";

/** The whole app, as main.tsx builds it, at `path` (routes, queries, i18n). */
export function renderApp(path: string, { language = "en" }: { language?: Language } = {}) {
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  const queryClient = createQueryClient();
  queryClient.setDefaultOptions({
    queries: { ...queryClient.getDefaultOptions().queries, retry: false },
  });
  const i18n = createI18n(language);
  const view = render(<App router={router} queryClient={queryClient} i18n={i18n} />);
  return { ...view, router, queryClient, i18n };
}
