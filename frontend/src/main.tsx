import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter } from "react-router";

import { createQueryClient } from "./api/queryClient";
import { App } from "./app/App";
import { routes } from "./app/routes";
import { createI18n } from "./i18n";
import "./styles.css";

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App router={createBrowserRouter(routes)} queryClient={createQueryClient()} i18n={createI18n()} />
    </StrictMode>,
  );
}
