import { screen, within } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import * as fx from "../test/fixtures";
import { renderApp } from "../test/render";
import { API, requests, server } from "../test/server";
import { buildLabelTree } from "./labelTree";

describe("the mailbox pane", () => {
  it("lists personal and shared mailboxes with their unread counts", async () => {
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    const nav = await screen.findByRole("navigation", { name: "Mailboxes" });
    const mine = await within(nav).findByRole("region", { name: "My mailboxes" });
    const shared = within(nav).getByRole("region", { name: "Shared mailboxes" });
    expect(within(mine).getByRole("link", { name: /User One/ })).toHaveAttribute(
      "href",
      `/mailboxes/${fx.MAILBOX_ID}/inbox`,
    );
    expect(within(mine).getByLabelText("2 unread conversations")).toHaveTextContent("2");
    expect(within(shared).getByRole("link", { name: /Contact/ })).toBeInTheDocument();
    expect(within(shared).getByLabelText("7 unread conversations")).toBeInTheDocument();
  });

  it("shows the standard folders of the open mailbox, the current one marked", async () => {
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/sent`);
    const folders = await screen.findByRole("list", { name: "Folders of user1@example.local" });
    const names = within(folders)
      .getAllByRole("link")
      .map((link) => link.textContent);
    expect(names).toEqual(["Inbox", "Starred", "Drafts", "Sent", "Outbox", "Archive", "Spam", "Trash", "All mail"]);
    expect(within(folders).getByRole("link", { name: "Sent" })).toHaveAttribute("aria-current", "page");
    // Only the open mailbox unfolds.
    expect(screen.queryByRole("list", { name: "Folders of contact@example.local" })).not.toBeInTheDocument();
  });

  it("shows the labels as a tree, with their colours, linking to their threads", async () => {
    server.use(
      http.get(`${API}/labels/`, () =>
        HttpResponse.json([
          fx.label({ id: "a0000000-0000-4000-8000-000000000001", name: "Clients/ACME", color: "#2563eb" }),
          fx.label({ id: "a0000000-0000-4000-8000-000000000002", name: "Clients", color: "#d97706" }),
          fx.label({ id: "a0000000-0000-4000-8000-000000000003", name: "Projects/2026/Q4", color: "not-a-colour" }),
        ]),
      ),
    );
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    const tree = await screen.findByRole("list", { name: "Labels" });
    const clients = within(tree).getByRole("link", { name: "Clients" });
    expect(clients).toHaveAttribute("href", `/mailboxes/${fx.MAILBOX_ID}/labels/a0000000-0000-4000-8000-000000000002`);
    expect(clients.querySelector(".swatch")).toHaveStyle({ backgroundColor: "#d97706" });
    const acme = within(tree).getByRole("link", { name: "ACME" });
    // ACME is inside Clients' item.
    expect(clients.closest("li")).toContainElement(acme);
    expect(acme.querySelector(".swatch")).toHaveStyle({ backgroundColor: "#2563eb" });
    // A parent nobody created is text, not a link; a bad colour falls back to grey.
    expect(within(tree).queryByRole("link", { name: "Projects" })).not.toBeInTheDocument();
    expect(within(tree).getByText("Projects")).toBeInTheDocument();
    expect(within(tree).getByRole("link", { name: "Q4" }).querySelector(".swatch")).toHaveStyle({
      backgroundColor: "#6b7280",
    });
    expect(requests.find((r) => r.path === "/api/v1.0/labels/")?.search).toBe(`?mailbox=${fx.MAILBOX_ID}`);
  });

  it("opens the caller's personal inbox at /", async () => {
    const { router } = renderApp("/");
    await screen.findByRole("heading", { name: "Inbox" });
    expect(router.state.location.pathname).toBe(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
  });

  it("says so when the caller has no mailbox", async () => {
    server.use(http.get(`${API}/mailboxes/`, () => HttpResponse.json([])));
    renderApp("/");
    expect(await screen.findAllByText("You have no mailbox yet. Ask your administrator for one.")).not.toHaveLength(0);
  });

  it("shows a readable error when the mailboxes cannot be loaded", async () => {
    server.use(http.get(`${API}/mailboxes/`, () => HttpResponse.json({ detail: "boom" }, { status: 500 })));
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    const nav = await screen.findByRole("navigation", { name: "Mailboxes" });
    expect(await within(nav).findByRole("alert")).toHaveTextContent("The server ran into a problem.");
    expect(within(nav).getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });
});

describe("buildLabelTree", () => {
  it("nests by slash and sorts each level", () => {
    const tree = buildLabelTree([
      fx.label({ id: "1", name: "b/y" }),
      fx.label({ id: "2", name: "a" }),
      fx.label({ id: "3", name: "b/x" }),
    ]);
    expect(tree.map((node) => [node.path, node.label?.id ?? null, node.children.map((c) => c.path)])).toEqual([
      ["a", "2", []],
      ["b", null, ["b/x", "b/y"]],
    ]);
  });
});
