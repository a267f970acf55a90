// axe-core's checks of the rendered pages (what jsdom can judge: roles, names,
// labels, landmarks, ARIA; not colour contrast, which needs layout).
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import axe from "axe-core";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import * as fx from "../test/fixtures";
import { renderApp } from "../test/render";
import { API, server } from "../test/server";

async function violations(): Promise<string[]> {
  const results = await axe.run(document.body, {
    rules: { "color-contrast": { enabled: false } },
    iframes: false, // message frames: sandboxed srcdoc, not this page's markup
  });
  return results.violations.map(
    (violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`,
  );
}

describe("accessibility", () => {
  it("the login page", async () => {
    server.use(http.get(`${API}/users/me/`, () => HttpResponse.json({ detail: "no" }, { status: 401 })));
    renderApp("/login");
    await screen.findByLabelText("Password");
    expect(await violations()).toEqual([]);
  });

  it("the three panes with a thread open", async () => {
    server.use(
      http.get(`${API}/labels/`, () => HttpResponse.json([fx.label(), fx.label({ id: "x1", name: "Clients/ACME" })])),
      http.get(`${API}/threads/`, () =>
        HttpResponse.json(fx.threadList([fx.thread(), fx.thread({ id: "t2", unread_count: 0 })], "next")),
      ),
      http.get(`${API}/threads/:id/messages/`, () =>
        HttpResponse.json([
          fx.message({ id: "m1" }),
          fx.message({ id: "m2", html_body: "<p>Hi</p>", has_remote_content: true }),
        ]),
      ),
    );
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox/threads/${fx.THREAD_ID}`);
    await screen.findByRole("article");
    await screen.findByRole("list", { name: "Labels" });
    await screen.findByRole("button", { name: "Show more conversations" });
    expect(await violations()).toEqual([]);
  });

  it("compose with recipients, a sent message's delivery status, the label menu, the shortcut sheet", async () => {
    server.use(
      http.get(`${API}/labels/`, () => HttpResponse.json([fx.label()])),
      http.get(`${API}/threads/`, () => HttpResponse.json(fx.threadList([fx.thread()]))),
      http.get(`${API}/threads/:id/messages/`, () =>
        HttpResponse.json([fx.message({ id: "m1", is_sender: true, send_at: "2026-11-20T09:00:00Z" })]),
      ),
    );
    const user = userEvent.setup();
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox/threads/${fx.THREAD_ID}`);
    await screen.findByRole("region", { name: "Delivery" });
    await user.click(await screen.findByRole("checkbox", { name: "Select “Quarterly report”" }));
    await user.click(screen.getByRole("button", { name: "Reply all" }));
    const dialog = await screen.findByRole("dialog", { name: "Reply" });
    await user.click(within(dialog).getByRole("button", { name: "Add Cc or Bcc" }));
    const toolbar = screen.getByRole("toolbar", { name: "Conversation actions" });
    await user.click(within(toolbar).getByRole("button", { name: "Labels" }));
    expect(await violations()).toEqual([]);
    await user.click(document.body);
    await user.keyboard("?");
    await screen.findByRole("dialog", { name: "Keyboard shortcuts" });
    expect(await violations()).toEqual([]);
  });

  it("the sharing dialogs, the label manager with a confirmation, the Outbox", async () => {
    server.use(
      http.get(`${API}/mailboxes/`, () => HttpResponse.json([fx.mailbox({ managed: false })])),
      http.get(`${API}/labels/`, () => HttpResponse.json([fx.label(), fx.label({ id: "x1", name: "Clients/ACME" })])),
      http.get(`${API}/threads/`, () => HttpResponse.json(fx.threadList([fx.thread()]))),
      http.get(`${API}/threads/:id/accesses/`, () => HttpResponse.json([fx.threadAccess()])),
      http.get(`${API}/outbox/`, () =>
        HttpResponse.json([fx.message({ id: "m1", is_sender: true, send_at: "2099-01-01T00:00:00Z" })]),
      ),
    );
    const user = userEvent.setup();
    const { router } = renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox/threads/${fx.THREAD_ID}`);
    await user.click(await screen.findByRole("button", { name: "Sharing and access" }));
    await within(screen.getByRole("dialog")).findByRole("list", { name: "People with access" });
    expect(await violations()).toEqual([]);
    await user.keyboard("{Escape}");

    await user.click(await screen.findByRole("button", { name: "Share" }));
    await within(screen.getByRole("dialog")).findByRole("list", { name: "Also shared with" });
    expect(await violations()).toEqual([]);
    await user.keyboard("{Escape}");

    await user.click(screen.getByRole("button", { name: "Manage labels" }));
    const manager = screen.getByRole("dialog", { name: "Labels of user1@example.local" });
    await user.click(await within(manager).findByRole("button", { name: "Delete the label Clients" }));
    expect(await violations()).toEqual([]);
    await user.keyboard("{Escape}");

    await router.navigate(`/mailboxes/${fx.MAILBOX_ID}/outbox`);
    await screen.findByRole("region", { name: "Delivery" });
    expect(await violations()).toEqual([]);
  });
});
