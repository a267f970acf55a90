import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import type { Recipient } from "../api/generated/model";
import * as fx from "../test/fixtures";
import { renderApp } from "../test/render";
import { API, requests, server } from "../test/server";
import { messageState, recipientState } from "../thread/deliveryState";

const OUTBOX = `/mailboxes/${fx.MAILBOX_ID}/outbox`;
const NOW = Date.parse("2026-11-24T12:00:00Z");
const LATER = "2099-01-01T10:00:00Z";

function to(email: string, delivery_status: Recipient["delivery_status"], delivery_message = ""): Recipient {
  return { kind: "to", name: "", email, delivery_status, delivery_message, delivered_at: null, retry_count: 0, retry_at: null };
}

describe("delivery states", () => {
  it("splits queued into scheduled (before send_at) and sending (after)", () => {
    expect(recipientState(to("a@b.c", "queued"), "2026-11-24T12:00:01Z", NOW)).toBe("scheduled");
    expect(recipientState(to("a@b.c", "queued"), "2026-11-24T11:59:59Z", NOW)).toBe("sending");
    expect(recipientState(to("a@b.c", "queued"), null, NOW)).toBe("sending");
    expect(recipientState(to("a@b.c", "failed"), null, NOW)).toBe("failed");
    expect(recipientState(to("a@b.c", "" as Recipient["delivery_status"]), null, NOW)).toBeNull();
  });

  it("gives a message the state that needs attention first", () => {
    const message = fx.message({ send_at: null, recipients: [to("a@b.c", "sent"), to("d@e.f", "failed")] });
    expect(messageState(message, NOW)).toBe("failed");
    expect(messageState(fx.message({ recipients: [to("a@b.c", "delivered")] }), NOW)).toBe("delivered");
  });
});

describe("the Outbox", () => {
  const scheduled = fx.message({
    id: "c0000000-0000-4000-8000-000000000001",
    subject: "Scheduled one",
    is_sender: true,
    send_at: LATER,
    recipients: [to("later@example.org", "queued")],
  });
  const failing = fx.message({
    id: "c0000000-0000-4000-8000-000000000002",
    thread: "c0000000-0000-4000-8000-0000000000ff",
    subject: "Refused one",
    is_sender: true,
    send_at: "2026-11-20T09:00:00Z",
    recipients: [to("ok@example.org", "sent"), to("nobody@example.org", "failed", "550 5.1.1 No such user")],
  });

  it("is a folder of the open mailbox", async () => {
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    const folders = await screen.findByRole("list", { name: "Folders of user1@example.local" });
    expect(within(folders).getByRole("link", { name: "Outbox" })).toHaveAttribute("href", OUTBOX);
  });

  it("lists mail on its way with each recipient's state, and cancels or retries", async () => {
    server.use(http.get(`${API}/outbox/`, () => HttpResponse.json([scheduled, failing])));
    const user = userEvent.setup();
    renderApp(OUTBOX);
    const main = await screen.findByRole("main", { name: "Outbox" });
    expect(document.title).toBe("Outbox — Facteur");
    const first = await within(main).findByRole("article", { name: "Scheduled one" });
    expect(within(first).getByRole("listitem")).toHaveTextContent("later@example.org Scheduled");
    const second = within(main).getByRole("article", { name: "Refused one" });
    const rows = within(second).getAllByRole("listitem");
    expect(rows[0]).toHaveTextContent("ok@example.org Sent");
    expect(rows[1]).toHaveTextContent("nobody@example.org Failed Server reply: 550 5.1.1 No such user");
    expect(within(second).getByRole("link", { name: "Refused one" })).toHaveAttribute(
      "href",
      `/mailboxes/${fx.MAILBOX_ID}/sent/threads/c0000000-0000-4000-8000-0000000000ff`,
    );
    expect(requests.find((r) => r.path === "/api/v1.0/outbox/")?.search).toBe(`?mailbox=${fx.MAILBOX_ID}`);

    await user.click(within(second).getByRole("button", { name: "Retry now" }));
    await waitFor(() =>
      expect(requests).toContainEqual(
        expect.objectContaining({ method: "POST", path: `/api/v1.0/messages/${failing.id}/retry-send/` }),
      ),
    );
    await user.click(within(first).getByRole("button", { name: "Cancel and edit" }));
    await waitFor(() =>
      expect(requests).toContainEqual(
        expect.objectContaining({ method: "POST", path: `/api/v1.0/messages/${scheduled.id}/cancel-send/` }),
      ),
    );
    // Cancelled: it is a draft again, open in the compose window.
    expect(await screen.findByRole("dialog", { name: "New message" })).toBeInTheDocument();
  });

  it("says when a cancel comes too late, with the server's reason", async () => {
    server.use(
      http.get(`${API}/outbox/`, () => HttpResponse.json([scheduled])),
      http.post(`${API}/messages/:id/cancel-send/`, () =>
        HttpResponse.json({ detail: "The message has already left." }, { status: 409 }),
      ),
    );
    const user = userEvent.setup();
    renderApp(OUTBOX);
    await user.click(await screen.findByRole("button", { name: "Cancel and edit" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("This could not be done: The message has already left.");
  });

  it("says when nothing is waiting; c and ? work there too", async () => {
    const user = userEvent.setup();
    renderApp(OUTBOX);
    expect(await screen.findByText("Nothing waiting to leave.")).toBeInTheDocument();
    await user.keyboard("?");
    expect(screen.getByRole("dialog", { name: "Keyboard shortcuts" })).toBeInTheDocument();
    await user.keyboard("{Escape}");
    await user.keyboard("c");
    expect(await screen.findByRole("dialog", { name: "New message" })).toBeInTheDocument();
  });

  it("shows a readable error with a retry when the outbox cannot be loaded", async () => {
    server.use(http.get(`${API}/outbox/`, () => HttpResponse.json({ detail: "boom" }, { status: 500 })));
    renderApp(OUTBOX);
    const main = await screen.findByRole("main", { name: "Outbox" });
    expect(await within(main).findByRole("alert")).toHaveTextContent("The server ran into a problem.");
    expect(within(main).getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });
});
