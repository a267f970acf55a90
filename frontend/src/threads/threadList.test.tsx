import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import * as fx from "../test/fixtures";
import { renderApp } from "../test/render";
import { API, requests, server } from "../test/server";

const id = (n: number) => `b0000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

describe("the thread list", () => {
  it("shows each thread: unread in bold, participants, subject, snippet, date, chips", async () => {
    server.use(
      http.get(`${API}/threads/`, () =>
        HttpResponse.json(
          fx.threadList([
            fx.thread({ id: id(1) }),
            fx.thread({
              id: id(2),
              subject: "",
              unread_count: 0,
              is_starred: true,
              has_attachments: false,
              has_draft: true,
              labels: [],
              message_count: 1,
              sender_names: [],
            }),
          ]),
        ),
      ),
    );
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    const list = await screen.findByRole("list", { name: "Inbox" });
    const [first, second] = within(list).getAllByRole("listitem");
    if (!first || !second) throw new Error("two rows expected");

    expect(first).toHaveClass("unread");
    expect(first).toHaveTextContent("Unread:");
    expect(first).toHaveTextContent("Alice Martin, Bob (2)");
    expect(first).toHaveTextContent("Quarterly report — Here are the figures for the quarter");
    expect(within(first).getByText("Has attachments")).toBeInTheDocument();
    expect(within(first).getByText("Clients")).toHaveStyle({ backgroundColor: "#d97706" });
    expect(within(first).getByRole("link")).toHaveAttribute(
      "href",
      `/mailboxes/${fx.MAILBOX_ID}/inbox/threads/${id(1)}`,
    );
    expect(first.querySelector("time")).toHaveAttribute("datetime", "2026-11-20T10:30:00Z");
    expect(within(first).getByRole("button", { name: "Star “Quarterly report”" })).toHaveAttribute(
      "aria-pressed",
      "false",
    );

    expect(second).not.toHaveClass("unread");
    expect(second).toHaveTextContent("(no subject)");
    expect(second).toHaveTextContent("(unknown sender)");
    expect(second).toHaveTextContent("Draft");
    expect(within(second).getByRole("button", { name: /Star/ })).toHaveAttribute("aria-pressed", "true");
    expect(requests.find((r) => r.path === "/api/v1.0/threads/")?.search).toBe(
      `?mailbox=${fx.MAILBOX_ID}&view=inbox&page_size=50`,
    );
  });

  it("pages with the cursor the API gives, without repeating threads", async () => {
    server.use(
      http.get(`${API}/threads/`, ({ request }) => {
        const cursor = new URL(request.url).searchParams.get("cursor");
        return cursor === "page-2"
          ? HttpResponse.json(fx.threadList([fx.thread({ id: id(3), subject: "Third" })]))
          : HttpResponse.json(
              fx.threadList(
                [fx.thread({ id: id(1), subject: "First" }), fx.thread({ id: id(2), subject: "Second" })],
                "page-2",
              ),
            );
      }),
    );
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/archive`);
    const list = await screen.findByRole("list", { name: "Archive" });
    expect(within(list).getAllByRole("listitem")).toHaveLength(2);
    await userEvent.setup().click(screen.getByRole("button", { name: "Show more conversations" }));
    await waitFor(() => expect(within(list).getAllByRole("listitem")).toHaveLength(3));
    expect(within(list).getAllByRole("link").map((link) => link.textContent)).toEqual([
      expect.stringContaining("First"),
      expect.stringContaining("Second"),
      expect.stringContaining("Third"),
    ]);
    const searches = requests.filter((r) => r.path === "/api/v1.0/threads/").map((r) => r.search);
    expect(searches).toEqual([
      `?mailbox=${fx.MAILBOX_ID}&view=archive&page_size=50`,
      `?mailbox=${fx.MAILBOX_ID}&view=archive&page_size=50&cursor=page-2`,
    ]);
    // The last page has no next cursor: nothing more to load.
    expect(screen.queryByRole("button", { name: "Show more conversations" })).not.toBeInTheDocument();
  });

  it("lists a label's threads, named after the label", async () => {
    const labelId = "44444444-4444-4444-8444-444444444444";
    server.use(http.get(`${API}/labels/`, () => HttpResponse.json([fx.label({ name: "Clients/ACME" })])));
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/labels/${labelId}`);
    expect(await screen.findByText("No conversation has this label.")).toBeInTheDocument();
    expect(await screen.findByRole("heading", { name: "Clients/ACME" })).toBeInTheDocument();
    await waitFor(() => expect(document.title).toBe("Clients/ACME — Facteur"));
    expect(requests.find((r) => r.path === "/api/v1.0/threads/")?.search).toBe(
      `?mailbox=${fx.MAILBOX_ID}&label=${labelId}&page_size=50`,
    );
  });

  it.each([
    ["inbox", "Your inbox is empty."],
    ["trash", "The trash is empty."],
    ["starred", "No starred conversations."],
  ])("has an empty state for %s", async (folder, text) => {
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/${folder}`);
    expect(await screen.findByText(text)).toBeInTheDocument();
  });

  it("stars a thread and refreshes the list", async () => {
    let starred = false;
    server.use(
      http.get(`${API}/threads/`, () => HttpResponse.json(fx.threadList([fx.thread({ is_starred: starred })]))),
      http.post(`${API}/flags/`, () => {
        starred = true;
        return HttpResponse.json({ updated: 2 });
      }),
    );
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    const star = await screen.findByRole("button", { name: "Star “Quarterly report”" });
    await userEvent.setup().click(star);
    await waitFor(() => expect(screen.getByRole("button", { name: /Star/ })).toHaveAttribute("aria-pressed", "true"));
    const flag = requests.find((r) => r.path === "/api/v1.0/flags/");
    expect(flag?.body).toEqual({ flag: "starred", value: true, thread_ids: [fx.THREAD_ID] });
    expect(flag?.csrf).toBe("token-from-server");
  });

  it("cannot star a thread shared read-only", async () => {
    server.use(http.get(`${API}/threads/`, () => HttpResponse.json(fx.threadList([fx.thread({ role: "viewer" })]))));
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    expect(await screen.findByRole("button", { name: /Star/ })).toBeDisabled();
  });

  it("explains a failure to star, with the API's reason", async () => {
    server.use(
      http.get(`${API}/threads/`, () => HttpResponse.json(fx.threadList([fx.thread()]))),
      http.post(`${API}/flags/`, () =>
        HttpResponse.json({ detail: "Your role on this thread does not allow changes." }, { status: 403 }),
      ),
    );
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    await userEvent.setup().click(await screen.findByRole("button", { name: /Star/ }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "You are not allowed to do this: Your role on this thread does not allow changes.",
    );
  });

  it("answers an unknown folder with a not-found page", async () => {
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/nonsense`);
    expect(await screen.findByRole("heading", { name: "Page not found" })).toBeInTheDocument();
  });
});
