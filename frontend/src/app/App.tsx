import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import type { i18n } from "i18next";
import { useEffect } from "react";
import { I18nextProvider } from "react-i18next";
import { RouterProvider, type createBrowserRouter } from "react-router";

import { onUnauthorized } from "../api/http";
import { LOGIN_PATH, loginPath } from "./paths";

type Router = ReturnType<typeof createBrowserRouter>;

export function App({ router, queryClient, i18n }: { router: Router; queryClient: QueryClient; i18n: i18n }) {
  useEffect(
    () =>
      // A 401 from any call: the session ended (expired, logged out elsewhere).
      onUnauthorized(() => {
        const { pathname, search } = router.state.location;
        if (pathname === LOGIN_PATH) return;
        queryClient.clear();
        void router.navigate(loginPath(pathname + search), { replace: true });
      }),
    [router, queryClient],
  );
  return (
    <I18nextProvider i18n={i18n}>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </I18nextProvider>
  );
}
