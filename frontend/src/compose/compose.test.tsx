import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import * as fx from "../test/fixtures";
import { renderApp } from "../test/render";
import { API, requests, server } from "../test/server";

const INBOX = `/mailboxes/${fx.MAILBOX_ID}/inbox`;
const THREAD_URL = `${INBOX}/threads/${fx.THREAD_ID}`;
const SAVE_WAIT = { timeout: 4000 };

async function openCompose() {
  const user = userEvent.setup();
  const view = renderApp(INBOX);
  await user.click(await screen.findByRole("button", { name: "Compose" }));
  const dialog = await screen.findByRole("dialog", { name: "New message" });
  return { user, dialog, view };
}

const sent = (path: string, method = "POST") => requests.filter((r) => r.method === method && r.path === path);

describe("compose", () => {
  it("writes a new message: recipients, subject, body; saves it as a draft, sends it, and can undo", async () => {
    const { user, dialog } = await openCompose();
    const to = within(dialog).getByRole("combobox", { name: "To" });
    expect(to).toHaveFocus();
    await user.type(to, "Bob <bob@example.org>{Enter}");
    expect(within(dialog).getByRole("list", { name: "To" })).toHaveTextContent("Bob <bob@example.org>");
    await user.type(within(dialog).getByRole("textbox", { name: "Subject" }), "Plans");
    await waitFor(() => expect(sent("/api/v1.0/drafts/")).toHaveLength(1), SAVE_WAIT);
    expect(sent("/api/v1.0/drafts/")[0]?.body).toMatchObject({
      mailbox: fx.MAILBOX_ID,
      subject: "Plans",
      to: [{ name: "Bob", email: "bob@example.org" }],
    });
    await waitFor(() => expect(within(dialog).getByRole("status")).toHaveTextContent("Draft saved"), SAVE_WAIT);
    // The next change goes to the same draft.
    await user.type(within(dialog).getByRole("textbox", { name: "Subject" }), " for Q4");
    await user.click(within(dialog).getByRole("button", { name: "Send" }));
    await waitFor(() => expect(sent(`/api/v1.0/drafts/${fx.DRAFT_ID}/send/`)).toHaveLength(1));
    expect(sent(`/api/v1.0/drafts/${fx.DRAFT_ID}/`, "PATCH").at(-1)?.body).toMatchObject({ subject: "Plans for Q4" });
    expect(sent("/api/v1.0/drafts/")).toHaveLength(1);
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(localStorage.length).toBe(0);

    await user.click(await screen.findByRole("button", { name: "Undo" }));
    await waitFor(() => expect(sent(`/api/v1.0/messages/${fx.DRAFT_ID}/cancel-send/`)).toHaveLength(1));
    const again = await screen.findByRole("dialog", { name: "New message" });
    expect(within(again).getByRole("textbox", { name: "Subject" })).toHaveValue("Back to draft");
  });

  it("schedules a send at the chosen time", async () => {
    const { user, dialog } = await openCompose();
    await user.type(within(dialog).getByRole("combobox", { name: "To" }), "bob@example.org,");
    await user.click(within(dialog).getByRole("button", { name: "Send later" }));
    const when = within(dialog).getByLabelText("Send at");
    await user.type(when, "2099-01-02T09:30");
    await user.click(within(dialog).getByRole("button", { name: "Schedule send" }));
    await waitFor(() => expect(sent(`/api/v1.0/drafts/${fx.DRAFT_ID}/send/`)).toHaveLength(1));
    expect(sent(`/api/v1.0/drafts/${fx.DRAFT_ID}/send/`)[0]?.body).toEqual({
      send_at: new Date("2099-01-02T09:30").toISOString(),
    });
    expect(await screen.findByText(/Message scheduled for/)).toBeInTheDocument();
  });

  it("sends with Ctrl+Enter and closes with Escape, keeping the draft", async () => {
    const { user, dialog } = await openCompose();
    await user.type(within(dialog).getByRole("combobox", { name: "To" }), "bob@example.org{Enter}");
    await user.type(within(dialog).getByRole("textbox", { name: "Subject" }), "Quick");
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(sent("/api/v1.0/drafts/")[0]?.body).toMatchObject({ subject: "Quick" });
    // The focus went back to the Compose button.
    expect(screen.getByRole("button", { name: "Compose" })).toHaveFocus();
    await user.click(screen.getByRole("button", { name: "Compose" }));
    const again = await screen.findByRole("dialog", { name: "New message" });
    await user.type(within(again).getByRole("combobox", { name: "To" }), "ann@example.org{Enter}");
    await user.keyboard("{Control>}{Enter}{/Control}");
    await waitFor(() => expect(sent(`/api/v1.0/drafts/${fx.DRAFT_ID}/send/`)).toHaveLength(1));
  });

  it("refuses to send without recipients, saying why", async () => {
    const { user, dialog } = await openCompose();
    await user.click(within(dialog).getByRole("button", { name: "Send" }));
    expect(within(dialog).getByRole("alert")).toHaveTextContent("Add at least one recipient.");
    expect(sent(`/api/v1.0/drafts/${fx.DRAFT_ID}/send/`)).toHaveLength(0);
  });

  it("flags a typed address that is not one", async () => {
    const { user, dialog } = await openCompose();
    await user.type(within(dialog).getByRole("combobox", { name: "To" }), "not-an-address{Enter}");
    expect(within(dialog).getByRole("alert")).toHaveTextContent("“not-an-address” is not a valid e-mail address.");
    expect(within(dialog).getByRole("combobox", { name: "To" })).toHaveAttribute("aria-invalid", "true");
  });

  it("suggests contacts as one types", async () => {
    server.use(
      http.get(`${API}/contacts/`, ({ request }) =>
        HttpResponse.json(
          new URL(request.url).searchParams.get("q") === "ali"
            ? [{ id: "c1", mailbox: fx.MAILBOX_ID, email: "alice@example.org", name: "Alice Martin", use_count: 3, last_used_at: "2026-11-01T00:00:00Z" }]
            : [],
        ),
      ),
    );
    const { user, dialog } = await openCompose();
    const to = within(dialog).getByRole("combobox", { name: "To" });
    await user.type(to, "ali");
    const option = await within(dialog).findByRole("option", { name: "Alice Martin <alice@example.org>" });
    expect(option).toHaveAttribute("aria-selected", "true");
    expect(to).toHaveAttribute("aria-expanded", "true");
    await user.keyboard("{Enter}");
    expect(within(dialog).getByRole("list", { name: "To" })).toHaveTextContent("Alice Martin <alice@example.org>");
    expect(requests.some((r) => r.path === "/api/v1.0/contacts/" && r.search.includes(`mailbox=${fx.MAILBOX_ID}`))).toBe(true);
  });

  it("keeps the message on this device when the server fails, and opens it again at the next visit", async () => {
    server.use(http.post(`${API}/drafts/`, () => HttpResponse.json({ detail: "boom" }, { status: 500 })));
    const { user, dialog, view } = await openCompose();
    await user.type(within(dialog).getByRole("textbox", { name: "Subject" }), "Precious words");
    await waitFor(
      () => expect(within(dialog).getByRole("status")).toHaveTextContent("Not saved yet: kept on this device"),
      SAVE_WAIT,
    );
    expect(within(dialog).getByRole("alert")).toHaveTextContent("The server ran into a problem");
    // Closing does not throw it away either: the window stays, saying why.
    await user.click(within(dialog).getByRole("button", { name: "Close" }));
    expect(await screen.findByRole("dialog", { name: "New message" })).toBeInTheDocument();

    // A new visit (the tab was closed): the message comes back, and is saved once the server answers.
    const attempts = sent("/api/v1.0/drafts/").length;
    view.unmount();
    // Its last try on the way out fails too (the server is still down).
    await waitFor(() => expect(sent("/api/v1.0/drafts/").length).toBe(attempts + 1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    server.resetHandlers();
    expect(Object.values({ ...localStorage }).join()).toContain("Precious words");
    const { unmount } = renderApp(INBOX);
    const restored = await screen.findByRole("dialog", { name: "New message" });
    expect(within(restored).getByRole("textbox", { name: "Subject" })).toHaveValue("Precious words");
    expect(within(restored).getByRole("note")).toHaveTextContent("kept on this device");
    await waitFor(() => expect(sent("/api/v1.0/drafts/").length).toBeGreaterThan(1), SAVE_WAIT);
    unmount();
  });

  it("opening another compose window saves the first one's last changes at once", async () => {
    const { user, dialog } = await openCompose();
    await user.type(within(dialog).getByRole("textbox", { name: "Subject" }), "First thoughts");
    await user.click(screen.getByRole("button", { name: "Compose" }));
    await waitFor(() => expect(sent("/api/v1.0/drafts/")).toHaveLength(1));
    expect(sent("/api/v1.0/drafts/")[0]?.body).toMatchObject({ subject: "First thoughts" });
    expect(within(await screen.findByRole("dialog")).getByRole("textbox", { name: "Subject" })).toHaveValue("");
  });

  it("uploads attachments with progress and puts them on the draft", async () => {
    const { user, dialog } = await openCompose();
    const file = new File(["hello"], "notes.txt", { type: "text/plain" });
    await user.upload(within(dialog).getByLabelText("Attach files"), file);
    const list = await within(dialog).findByRole("list", { name: "Attachments" });
    await waitFor(() => expect(list).toHaveTextContent("notes.txt"));
    await waitFor(() => expect(within(list).queryByRole("progressbar")).not.toBeInTheDocument());
    await waitFor(() => expect(sent("/api/v1.0/drafts/")).toHaveLength(1), SAVE_WAIT);
    expect(sent("/api/v1.0/drafts/")[0]?.body).toMatchObject({ attachments: [fx.BLOB_ID] });
    expect(sent(`/api/v1.0/mailboxes/${fx.MAILBOX_ID}/blobs/`)).toHaveLength(1);
  });

  it("says when a file is too large, next to the file, and lets it go", async () => {
    server.use(
      http.post(`${API}/mailboxes/:id/blobs/`, () => HttpResponse.json({ detail: "Too large." }, { status: 413 })),
    );
    const { user, dialog } = await openCompose();
    await user.upload(within(dialog).getByLabelText("Attach files"), new File(["x".repeat(10)], "huge.bin"));
    const list = await within(dialog).findByRole("list", { name: "Attachments" });
    expect(await within(list).findByRole("alert")).toHaveTextContent("This file is too large.");
    await user.click(within(list).getByRole("button", { name: "Cancel the upload of huge.bin" }));
    expect(within(dialog).queryByRole("list", { name: "Attachments" })).not.toBeInTheDocument();
  });

  it("discarding a message never saved does not save it on the way out", async () => {
    const { user, dialog } = await openCompose();
    await user.type(within(dialog).getByRole("textbox", { name: "Subject" }), "Oops");
    await user.click(within(dialog).getByRole("button", { name: "Discard" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    await new Promise((resolve) => setTimeout(resolve, 1800));
    expect(sent("/api/v1.0/drafts/")).toHaveLength(0);
    expect(localStorage.length).toBe(0);
  });

  it("discards a draft", async () => {
    const { user, dialog } = await openCompose();
    await user.type(within(dialog).getByRole("textbox", { name: "Subject" }), "Never mind");
    await waitFor(() => expect(sent("/api/v1.0/drafts/")).toHaveLength(1), SAVE_WAIT);
    await user.click(within(dialog).getByRole("button", { name: "Discard" }));
    await waitFor(() => expect(sent(`/api/v1.0/drafts/${fx.DRAFT_ID}/`, "DELETE")).toHaveLength(1));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });
});

describe("a draft that is gone", () => {
  it("can still be discarded", async () => {
    server.use(
      http.patch(`${API}/drafts/:id/`, () => HttpResponse.json({ detail: "Not found." }, { status: 404 })),
      http.delete(`${API}/drafts/:id/`, () => HttpResponse.json({ detail: "Not found." }, { status: 404 })),
      http.get(`${API}/threads/:id/messages/`, () => HttpResponse.json([fx.draftFrom(fx.DRAFT_ID, { subject: "Old" })])),
    );
    const user = userEvent.setup();
    renderApp(THREAD_URL);
    await user.click(await screen.findByRole("button", { name: "Edit the draft" }));
    const dialog = await screen.findByRole("dialog", { name: "New message" });
    await user.type(within(dialog).getByRole("textbox", { name: "Subject" }), "!");
    await waitFor(() => expect(within(dialog).getByRole("alert")).toHaveTextContent("does not exist"), SAVE_WAIT);
    await user.click(within(dialog).getByRole("button", { name: "Discard" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(localStorage.length).toBe(0);
  });
});

describe("replying and forwarding from a thread", () => {
  it("replies in the thread with the quote; the draft is created with in_reply_to", async () => {
    const user = userEvent.setup();
    renderApp(THREAD_URL);
    await user.click(await screen.findByRole("button", { name: "Reply" }));
    const dialog = await screen.findByRole("dialog", { name: "Reply" });
    expect(within(dialog).getByRole("list", { name: "To" })).toHaveTextContent("alice@example.org");
    expect(within(dialog).getByRole("textbox", { name: "Subject" })).toHaveValue("Re: Quarterly report");
    const body = within(dialog).getByRole("textbox", { name: "Message" });
    expect(body.querySelector("blockquote")).toHaveTextContent("Here are the figures for the quarter.");
    await user.type(within(dialog).getByRole("textbox", { name: "Subject" }), "!");
    await waitFor(() => expect(sent("/api/v1.0/drafts/")).toHaveLength(1), SAVE_WAIT);
    const created = sent("/api/v1.0/drafts/")[0]?.body as Record<string, unknown>;
    expect(created.in_reply_to).toBe(fx.message().id);
    expect(created.text_body).toMatch(/wrote:\n\n> Here are the figures for the quarter\.$/);
  });

  it("forwards with the subject and the header", async () => {
    const user = userEvent.setup();
    renderApp(THREAD_URL);
    await user.click(await screen.findByRole("button", { name: "Forward" }));
    const dialog = await screen.findByRole("dialog", { name: "Forward" });
    expect(within(dialog).getByRole("textbox", { name: "Subject" })).toHaveValue("Fwd: Quarterly report");
    expect(within(dialog).getByRole("textbox", { name: "Message" })).toHaveTextContent("Forwarded message");
  });

  it("opens a draft of the thread for editing", async () => {
    server.use(
      http.get(`${API}/threads/:id/messages/`, () =>
        HttpResponse.json([fx.draftFrom(fx.DRAFT_ID, { subject: "Half written", to: [{ email: "z@example.org" }] })]),
      ),
    );
    const user = userEvent.setup();
    renderApp(THREAD_URL);
    await user.click(await screen.findByRole("button", { name: "Edit the draft" }));
    const dialog = await screen.findByRole("dialog", { name: "New message" });
    expect(within(dialog).getByRole("textbox", { name: "Subject" })).toHaveValue("Half written");
    await user.type(within(dialog).getByRole("textbox", { name: "Subject" }), "!");
    await waitFor(() => expect(sent(`/api/v1.0/drafts/${fx.DRAFT_ID}/`, "PATCH")).toHaveLength(1), SAVE_WAIT);
    expect(sent("/api/v1.0/drafts/")).toHaveLength(0);
  });
});

describe("delivery status on sent mail", () => {
  it("shows each recipient's status and the server's reply, and retries the failed ones", async () => {
    const recipient = (email: string, status: "delivered" | "failed" | "retrying", reply = "") => ({
      kind: "to" as const,
      name: "",
      email,
      delivery_status: status,
      delivery_message: reply,
      delivered_at: null,
      retry_count: status === "retrying" ? 2 : 0,
      retry_at: status === "retrying" ? "2026-11-20T12:00:00Z" : null,
    });
    server.use(
      http.get(`${API}/threads/:id/messages/`, () =>
        HttpResponse.json([
          fx.message({
            is_sender: true,
            sender: { name: "User One", email: "user1@example.local" },
            recipients: [
              recipient("ok@example.org", "delivered"),
              recipient("gone@example.org", "failed", "550 5.1.1 No such user"),
              recipient("slow@example.org", "retrying", "451 4.7.1 Try later"),
            ],
          }),
        ]),
      ),
    );
    const user = userEvent.setup();
    renderApp(THREAD_URL);
    const delivery = await screen.findByRole("region", { name: "Delivery" });
    const items = within(delivery).getAllByRole("listitem");
    expect(items[0]).toHaveTextContent("ok@example.org Delivered");
    expect(items[1]).toHaveTextContent("Failed");
    expect(items[1]).toHaveTextContent("550 5.1.1 No such user");
    expect(items[2]).toHaveTextContent("Retrying");
    expect(items[2]).toHaveTextContent("next try");
    await user.click(within(delivery).getByRole("button", { name: "Retry now" }));
    await waitFor(() => expect(sent(`/api/v1.0/messages/${fx.message().id}/retry-send/`)).toHaveLength(1));
  });

  it("shows nothing about delivery on sent mail that did not go through our sending (imported)", async () => {
    const imported = fx.message({ is_sender: true, send_at: null });
    const recipients = imported.recipients.map((r) => ({ ...r, delivery_status: "" as never }));
    server.use(http.get(`${API}/threads/:id/messages/`, () => HttpResponse.json([{ ...imported, recipients }])));
    renderApp(THREAD_URL);
    await screen.findByText("Here are the figures for the quarter.");
    expect(screen.queryByRole("region", { name: "Delivery" })).not.toBeInTheDocument();
  });

  it("offers to cancel a message that has not left yet", async () => {
    const future = new Date(Date.now() + 3600_000).toISOString();
    server.use(
      http.get(`${API}/threads/:id/messages/`, () =>
        HttpResponse.json([fx.message({ is_sender: true, send_at: future })]),
      ),
    );
    const user = userEvent.setup();
    renderApp(THREAD_URL);
    await user.click(await screen.findByRole("button", { name: "Cancel and edit" }));
    await waitFor(() => expect(sent(`/api/v1.0/messages/${fx.message().id}/cancel-send/`)).toHaveLength(1));
    expect(await screen.findByRole("dialog", { name: "New message" })).toBeInTheDocument();
    await act(async () => undefined);
  });
});
