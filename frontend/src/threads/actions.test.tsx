import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import * as fx from "../test/fixtures";
import { renderApp } from "../test/render";
import { API, requests, server } from "../test/server";
import { removesFromView } from "./actions";

const INBOX = `/mailboxes/${fx.MAILBOX_ID}/inbox`;
const T1 = fx.thread({ id: "a0000000-0000-4000-8000-000000000001", subject: "First", unread_count: 0 });
const T2 = fx.thread({ id: "a0000000-0000-4000-8000-000000000002", subject: "Second", unread_count: 1, labels: [] });
const T3 = fx.thread({ id: "a0000000-0000-4000-8000-000000000003", subject: "Third", unread_count: 0 });
const CLIENTS = fx.label();
const URGENT = fx.label({ id: "44444444-4444-4444-8444-444444444445", name: "Urgent", color: "#dc2626" });

function serveList() {
  server.use(
    http.get(`${API}/threads/`, () => HttpResponse.json(fx.threadList([T1, T2, T3]))),
    http.get(`${API}/threads/:id/`, ({ params }) =>
      HttpResponse.json([T1, T2, T3].find((t) => t.id === params.id) ?? fx.thread()),
    ),
    http.get(`${API}/labels/`, () => HttpResponse.json([CLIENTS, URGENT])),
    http.post(`${API}/labels/:id/threads/`, () => HttpResponse.json({ updated: 1 })),
    http.post(`${API}/labels/:id/threads/remove/`, () => HttpResponse.json({ updated: 1 })),
  );
}

const flagsSent = () => requests.filter((r) => r.method === "POST" && r.path === "/api/v1.0/flags/").map((r) => r.body);

describe("thread actions", () => {
  it("says which actions take threads out of the list one looks at", () => {
    const act = (flag: "archived" | "trashed" | "spam" | "starred" | "unread", value: boolean) => ({
      kind: "flag" as const,
      flag,
      value,
      ids: ["x"],
    });
    expect(removesFromView(act("archived", true), "inbox")).toBe(true);
    expect(removesFromView(act("archived", false), "archive")).toBe(true);
    expect(removesFromView(act("archived", true), "all")).toBe(false);
    expect(removesFromView(act("trashed", true), "inbox")).toBe(true);
    expect(removesFromView(act("trashed", false), "trash")).toBe(true);
    expect(removesFromView(act("spam", true), "spam")).toBe(false);
    expect(removesFromView(act("starred", false), "starred")).toBe(true);
    expect(removesFromView(act("unread", true), "inbox")).toBe(false);
  });

  it("archives the open thread and opens the next one", async () => {
    serveList();
    const user = userEvent.setup();
    const { router } = renderApp(`${INBOX}/threads/${T1.id}`);
    const toolbar = await screen.findByRole("toolbar", { name: "Conversation actions" });
    await screen.findByRole("link", { name: /Second/ });
    await user.click(within(toolbar).getByRole("button", { name: "Archive" }));
    await waitFor(() => expect(router.state.location.pathname).toBe(`${INBOX}/threads/${T2.id}`));
    expect(flagsSent()).toContainEqual({ flag: "archived", value: true, thread_ids: [T1.id] });
  });

  it("marks the open thread unread and goes back to the list", async () => {
    serveList();
    const user = userEvent.setup();
    const { router } = renderApp(`${INBOX}/threads/${T1.id}`);
    const toolbar = await screen.findByRole("toolbar", { name: "Conversation actions" });
    await user.click(within(toolbar).getByRole("button", { name: "Mark as unread" }));
    await waitFor(() => expect(router.state.location.pathname).toBe(INBOX));
    expect(flagsSent()).toContainEqual({ flag: "unread", value: true, thread_ids: [T1.id] });
  });

  it("restores from the trash and says 'Not spam' in spam", async () => {
    serveList();
    const user = userEvent.setup();
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/trash/threads/${T1.id}`);
    const toolbar = await screen.findByRole("toolbar", { name: "Conversation actions" });
    expect(within(toolbar).queryByRole("button", { name: "Trash" })).not.toBeInTheDocument();
    await user.click(within(toolbar).getByRole("button", { name: "Move to inbox" }));
    await waitFor(() => expect(flagsSent()).toContainEqual({ flag: "trashed", value: false, thread_ids: [T1.id] }));
  });

  it("puts a label on and takes one off through the label menu", async () => {
    serveList();
    const user = userEvent.setup();
    renderApp(`${INBOX}/threads/${T1.id}`);
    const toolbar = await screen.findByRole("toolbar", { name: "Conversation actions" });
    await user.click(within(toolbar).getByRole("button", { name: "Labels" }));
    const menu = within(toolbar).getByRole("group", { name: "Labels of the conversations" });
    const clients = within(menu).getByRole("checkbox", { name: "Clients" });
    expect(clients).toBeChecked();
    expect(clients).toHaveFocus();
    await user.click(within(menu).getByRole("checkbox", { name: "Urgent" }));
    await user.click(clients);
    await waitFor(() =>
      expect(requests.filter((r) => /^\/api\/v1.0\/labels\/[^/]+\/threads\//.test(r.path))).toHaveLength(2),
    );
    expect(requests).toContainEqual(
      expect.objectContaining({ method: "POST", path: `/api/v1.0/labels/${URGENT.id}/threads/`, body: { thread_ids: [T1.id] } }),
    );
    expect(requests).toContainEqual(
      expect.objectContaining({ method: "POST", path: `/api/v1.0/labels/${CLIENTS.id}/threads/remove/`, body: { thread_ids: [T1.id] } }),
    );
    await user.keyboard("{Escape}");
    expect(within(toolbar).getByRole("button", { name: "Labels" })).toHaveFocus();
  });

  it("creates a label from the menu and puts it on the thread", async () => {
    serveList();
    server.use(
      http.post(`${API}/labels/`, () => HttpResponse.json(fx.label({ id: "44444444-4444-4444-8444-444444444446", name: "Later" }), { status: 201 })),
    );
    const user = userEvent.setup();
    renderApp(`${INBOX}/threads/${T1.id}`);
    const toolbar = await screen.findByRole("toolbar", { name: "Conversation actions" });
    await user.click(within(toolbar).getByRole("button", { name: "Labels" }));
    await user.type(within(toolbar).getByRole("textbox", { name: "New label" }), "Later{Enter}");
    await waitFor(() =>
      expect(requests).toContainEqual(
        expect.objectContaining({
          method: "POST",
          path: "/api/v1.0/labels/44444444-4444-4444-8444-444444444446/threads/",
          body: { thread_ids: [T1.id] },
        }),
      ),
    );
    expect(requests).toContainEqual(
      expect.objectContaining({ method: "POST", path: "/api/v1.0/labels/", body: { mailbox: fx.MAILBOX_ID, name: "Later" } }),
    );
  });

  it("selects several threads and acts on them at once", async () => {
    serveList();
    const user = userEvent.setup();
    renderApp(INBOX);
    await user.click(await screen.findByRole("checkbox", { name: "Select “First”" }));
    await user.click(screen.getByRole("checkbox", { name: "Select “Second”" }));
    expect(screen.getByText("2 selected")).toBeInTheDocument();
    const bulk = screen.getByRole("toolbar", { name: "Actions on the selected conversations" });
    // One of them is unread: the button marks them read.
    await user.click(within(bulk).getByRole("button", { name: "Mark as read" }));
    await user.click(within(bulk).getByRole("button", { name: "Trash" }));
    await waitFor(() => expect(flagsSent()).toHaveLength(2));
    expect(flagsSent()[0]).toEqual({ flag: "unread", value: false, thread_ids: [T1.id, T2.id] });
    expect(flagsSent()[1]).toEqual({ flag: "trashed", value: true, thread_ids: [T1.id, T2.id] });
    // Gone from the inbox: the selection is cleared.
    await waitFor(() => expect(screen.queryByText("2 selected")).not.toBeInTheDocument());

    const all = screen.getByRole("checkbox", { name: "Select all conversations" });
    await user.click(all);
    expect(screen.getByText("3 selected")).toBeInTheDocument();
    await user.click(all);
    expect(screen.queryByText(/selected/)).not.toBeInTheDocument();
  });
});
