import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import * as fx from "../test/fixtures";
import { renderApp } from "../test/render";
import { API, requests, server } from "../test/server";

const INBOX = `/mailboxes/${fx.MAILBOX_ID}/inbox`;
const T1 = fx.thread({ id: "a0000000-0000-4000-8000-000000000001", subject: "First", unread_count: 0 });
const T2 = fx.thread({ id: "a0000000-0000-4000-8000-000000000002", subject: "Second", unread_count: 0 });

function serveList() {
  server.use(
    http.get(`${API}/threads/`, () => HttpResponse.json(fx.threadList([T1, T2]))),
    http.get(`${API}/threads/:id/`, ({ params }) => HttpResponse.json(params.id === T2.id ? T2 : T1)),
  );
}
const flagsSent = () => requests.filter((r) => r.method === "POST" && r.path === "/api/v1.0/flags/").map((r) => r.body);

describe("keyboard shortcuts", () => {
  it("moves through the list with j/k and opens with o", async () => {
    serveList();
    const user = userEvent.setup();
    const { router } = renderApp(INBOX);
    await screen.findByRole("link", { name: /Second/ });
    await user.keyboard("j");
    expect(screen.getByRole("link", { name: /First/ })).toHaveFocus();
    await user.keyboard("j");
    expect(screen.getByRole("link", { name: /Second/ })).toHaveFocus();
    await user.keyboard("k");
    expect(screen.getByRole("link", { name: /First/ })).toHaveFocus();
    await user.keyboard("o");
    await waitFor(() => expect(router.state.location.pathname).toBe(`${INBOX}/threads/${T1.id}`));
    // With a thread open, j opens the next one; u goes back to the list.
    await screen.findByRole("heading", { name: "First" });
    await user.keyboard("j");
    await waitFor(() => expect(router.state.location.pathname).toBe(`${INBOX}/threads/${T2.id}`));
    await user.keyboard("u");
    await waitFor(() => expect(router.state.location.pathname).toBe(INBOX));
  });

  it("archives (e), stars (s), trashes (#) the open thread", async () => {
    serveList();
    const user = userEvent.setup();
    const { router } = renderApp(`${INBOX}/threads/${T1.id}`);
    await screen.findByRole("heading", { name: "First" });
    await screen.findByRole("link", { name: /Second/ });
    await user.keyboard("s");
    await waitFor(() => expect(flagsSent()).toContainEqual({ flag: "starred", value: true, thread_ids: [T1.id] }));
    await user.keyboard("e");
    await waitFor(() => expect(flagsSent()).toContainEqual({ flag: "archived", value: true, thread_ids: [T1.id] }));
    await waitFor(() => expect(router.state.location.pathname).toBe(`${INBOX}/threads/${T2.id}`));
    await screen.findByRole("heading", { name: "Second" });
    await user.keyboard("#");
    await waitFor(() => expect(flagsSent()).toContainEqual({ flag: "trashed", value: true, thread_ids: [T2.id] }));
  });

  it("acts on the selected threads (x selects the focused one)", async () => {
    serveList();
    const user = userEvent.setup();
    renderApp(INBOX);
    await screen.findByRole("link", { name: /Second/ });
    await user.keyboard("jxjx");
    expect(screen.getByText("2 selected")).toBeInTheDocument();
    await user.keyboard("e");
    await waitFor(() =>
      expect(flagsSent()).toContainEqual({ flag: "archived", value: true, thread_ids: [T1.id, T2.id] }),
    );
  });

  it("replies (r), replies to all (a), forwards (f) and composes (c)", async () => {
    serveList();
    const user = userEvent.setup();
    renderApp(`${INBOX}/threads/${T1.id}`);
    await screen.findByRole("heading", { name: "First" });
    await screen.findByRole("button", { name: "Reply" });
    await user.keyboard("r");
    const reply = await screen.findByRole("dialog", { name: "Reply" });
    expect(within(reply).getByRole("textbox", { name: "Message" })).toBeInTheDocument();
    // Keys typed in the compose window are text, not shortcuts.
    await user.type(within(reply).getByRole("textbox", { name: "Subject" }), "ce#");
    expect(flagsSent().filter((b) => (b as { flag: string }).flag !== "unread")).toEqual([]);
    await user.click(within(reply).getByRole("button", { name: "Discard" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    await user.keyboard("f");
    expect(await screen.findByRole("dialog", { name: "Forward" })).toBeInTheDocument();
  });

  it("c opens a new message and / goes to the search box", async () => {
    serveList();
    const user = userEvent.setup();
    renderApp(INBOX);
    await screen.findByRole("link", { name: /Second/ });
    await user.keyboard("/");
    expect(screen.getByRole("searchbox", { name: "Search mail" })).toHaveFocus();
    await user.keyboard("{Escape}");
    await user.keyboard("c");
    expect(await screen.findByRole("dialog", { name: "New message" })).toBeInTheDocument();
  });

  it("shows the help sheet with ?, and closes it with Escape", async () => {
    serveList();
    const user = userEvent.setup();
    renderApp(INBOX);
    await screen.findByRole("link", { name: /Second/ });
    await user.keyboard("?");
    const help = screen.getByRole("dialog", { name: "Keyboard shortcuts" });
    expect(within(help).getByRole("button", { name: "Close" })).toHaveFocus();
    expect(within(help).getByRole("row", { name: /Archive/ })).toHaveTextContent("e");
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });
});
