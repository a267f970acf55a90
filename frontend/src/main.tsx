import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter } from "react-router";

import { createQueryClient } from "./api/queryClient";
import { App } from "./app/App";
import { prefetchFirstScreen } from "./app/prefetch";
import { routes } from "./app/routes";
import { createI18n } from "./i18n";
import "./styles.css";

const root = document.getElementById("root");
if (root) {
  const queryClient = createQueryClient();
  prefetchFirstScreen(queryClient, window.location.pathname);
  createRoot(root).render(
    <StrictMode>
      <App router={createBrowserRouter(routes)} queryClient={queryClient} i18n={createI18n()} />
    </StrictMode>,
  );
}
