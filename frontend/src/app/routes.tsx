import { Navigate, type RouteObject } from "react-router";

import { LoginPage } from "../auth/LoginPage";
import { OutboxPane } from "../outbox/OutboxPane";
import { RequireAuth } from "../auth/RequireAuth";
import { ThreadView } from "../thread/ThreadView";
import { MailPanes, NoThreadSelected } from "../threads/MailPanes";
import { AppShell } from "./AppShell";
import { Home } from "./Home";
import { NotFound } from "./NotFound";
import { RouteError } from "./RouteError";
import { LOGIN_PATH } from "./paths";

const listChildren: RouteObject[] = [
  { index: true, element: <NoThreadSelected /> },
  { path: "threads/:threadId", element: <ThreadView /> },
];

export const routes: RouteObject[] = [
  { path: LOGIN_PATH, element: <LoginPage />, errorElement: <RouteError /> },
  {
    element: <RequireAuth />,
    errorElement: <RouteError />,
    children: [
      {
        element: <AppShell />,
        children: [
          { index: true, element: <Home /> },
          { path: "mailboxes/:mailboxId", element: <Navigate to="inbox" replace /> },
          { path: "mailboxes/:mailboxId/outbox", element: <OutboxPane /> },
          { path: "mailboxes/:mailboxId/labels/:labelId", element: <MailPanes />, children: listChildren },
          { path: "mailboxes/:mailboxId/search", element: <MailPanes />, children: listChildren },
          { path: "mailboxes/:mailboxId/:folder", element: <MailPanes />, children: listChildren },
          { path: "*", element: <NotFound /> },
        ],
      },
    ],
  },
];
