import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import * as fx from "../test/fixtures";
import { renderApp } from "../test/render";
import { API, requests, server } from "../test/server";
import { canManageMailboxAccess, canShareThread } from "./roles";

const INBOX = `/mailboxes/${fx.MAILBOX_ID}/inbox`;
const ALICE = fx.mailboxAccess({
  id: "aaaaaaaa-0000-4000-8000-000000000002",
  user_email: "alice@example.local",
  user_name: "Alice Martin",
  role: "viewer",
});

function serveAdminMailbox() {
  server.use(
    http.get(`${API}/mailboxes/`, () => HttpResponse.json([fx.mailbox({ managed: false, role: "admin" })])),
    http.get(`${API}/mailboxes/:id/accesses/`, () => HttpResponse.json([fx.mailboxAccess(), ALICE])),
    http.patch(`${API}/mailboxes/:id/accesses/:access/`, async ({ request }) =>
      HttpResponse.json({ ...ALICE, ...((await request.json()) as object) }),
    ),
    http.delete(`${API}/mailboxes/:id/accesses/:access/`, () => new HttpResponse(null, { status: 204 })),
  );
}

const sent = (method: string, pathPart: string) =>
  requests.filter((r) => r.method === method && r.path.includes(pathPart));

describe("who may share", () => {
  it("leaves a managed mailbox's accesses to the operator, and non-admins out", () => {
    expect(canManageMailboxAccess(fx.mailbox({ role: "admin", managed: false }))).toBe(true);
    expect(canManageMailboxAccess(fx.mailbox({ role: "admin", managed: true }))).toBe(false);
    expect(canManageMailboxAccess(fx.mailbox({ role: "sender", managed: false }))).toBe(false);
  });

  it("lets editors of the thread's own mailbox share it, not viewers nor other mailboxes", () => {
    const thread = fx.thread({ mailbox: fx.MAILBOX_ID });
    expect(canShareThread(thread, [fx.mailbox({ role: "editor" })])).toBe(true);
    expect(canShareThread(thread, [fx.mailbox({ role: "viewer" })])).toBe(false);
    expect(canShareThread(thread, [fx.mailbox({ id: fx.SHARED_MAILBOX_ID, role: "admin" })])).toBe(false);
  });
});

describe("sharing a mailbox", () => {
  it("lets an admin add, change and remove accesses; Escape gives the focus back", async () => {
    serveAdminMailbox();
    server.use(
      http.post(`${API}/mailboxes/:id/accesses/`, async ({ request }) =>
        HttpResponse.json(fx.mailboxAccess({ id: "new", ...((await request.json()) as object) }), { status: 201 }),
      ),
    );
    const user = userEvent.setup();
    renderApp(INBOX);
    const open = await screen.findByRole("button", { name: "Sharing and access" });
    await user.click(open);
    const dialog = screen.getByRole("dialog", { name: "Access to user1@example.local" });
    expect(within(dialog).getByLabelText("Their e-mail address")).toHaveFocus();
    const people = await within(dialog).findByRole("list", { name: "People with access" });
    expect(within(people).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      expect.stringContaining("User One user1@example.local"),
      expect.stringContaining("Alice Martin alice@example.local"),
    ]);

    await user.selectOptions(within(dialog).getByRole("combobox", { name: "Role of Alice Martin" }), "sender");
    await waitFor(() => expect(sent("PATCH", "/accesses/")).toHaveLength(1));
    expect(sent("PATCH", "/accesses/")[0]).toMatchObject({
      path: `/api/v1.0/mailboxes/${fx.MAILBOX_ID}/accesses/${ALICE.id}/`,
      body: { role: "sender" },
    });

    await user.click(within(dialog).getByRole("button", { name: "Remove the access of Alice Martin" }));
    await waitFor(() => expect(sent("DELETE", `/accesses/${ALICE.id}/`)).toHaveLength(1));

    await user.type(within(dialog).getByLabelText("Their e-mail address"), "bob@example.local");
    await user.selectOptions(within(dialog).getByRole("combobox", { name: "Role" }), "editor");
    await user.click(within(dialog).getByRole("button", { name: "Add" }));
    await waitFor(() =>
      expect(sent("POST", "/accesses/")[0]?.body).toEqual({ user: "bob@example.local", role: "editor" }),
    );
    await waitFor(() => expect(within(dialog).getByLabelText("Their e-mail address")).toHaveValue(""));

    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(open).toHaveFocus();
  });

  it("shows the API's reason when an access cannot be added, keeping what was typed", async () => {
    serveAdminMailbox();
    server.use(
      http.post(`${API}/mailboxes/:id/accesses/`, () =>
        HttpResponse.json(
          { detail: "Invalid input.", errors: { user: ["No user has this e-mail address."] } },
          { status: 400 },
        ),
      ),
    );
    const user = userEvent.setup();
    renderApp(INBOX);
    await user.click(await screen.findByRole("button", { name: "Sharing and access" }));
    const dialog = screen.getByRole("dialog");
    await user.type(within(dialog).getByLabelText("Their e-mail address"), "nobody@example.local{Enter}");
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("user: No user has this e-mail address.");
    expect(within(dialog).getByLabelText("Their e-mail address")).toHaveValue("nobody@example.local");
  });

  it("shows a mailbox the operator manages read-only, saying why", async () => {
    server.use(http.get(`${API}/mailboxes/:id/accesses/`, () => HttpResponse.json([fx.mailboxAccess(), ALICE])));
    const user = userEvent.setup();
    renderApp(INBOX); // the fixture's personal mailbox is managed, the caller its admin
    await user.click(await screen.findByRole("button", { name: "Who has access" }));
    const dialog = screen.getByRole("dialog", { name: "Access to user1@example.local" });
    expect(within(dialog).getByText(/managed by the Kubernetes operator/)).toBeInTheDocument();
    await within(dialog).findByText("Alice Martin");
    expect(within(dialog).queryByRole("combobox")).not.toBeInTheDocument();
    expect(within(dialog).queryByRole("button", { name: /Remove/ })).not.toBeInTheDocument();
    expect(within(dialog).queryByRole("form")).not.toBeInTheDocument();
    expect(within(dialog).getByRole("button", { name: "Close" })).toHaveFocus();
  });

  it("shows non-admins who has access, read-only", async () => {
    server.use(
      http.get(`${API}/mailboxes/`, () =>
        HttpResponse.json(fx.mailboxes().map((mailbox) => ({ ...mailbox, managed: false }))),
      ),
    );
    const user = userEvent.setup();
    renderApp(`/mailboxes/${fx.SHARED_MAILBOX_ID}/inbox`); // the caller is an editor there
    await user.click(await screen.findByRole("button", { name: "Who has access" }));
    const dialog = screen.getByRole("dialog", { name: "Access to contact@example.local" });
    expect(within(dialog).getByText("Only the mailbox's admins can change who has access.")).toBeInTheDocument();
    expect(await within(dialog).findByText("Admin (also manages access)")).toBeInTheDocument();
    expect(within(dialog).queryByRole("combobox")).not.toBeInTheDocument();
  });
});

describe("sharing a conversation", () => {
  const THREAD = `${INBOX}/threads/${fx.THREAD_ID}`;

  it("lists the mailboxes it is shared with and shares it with another", async () => {
    const share = fx.threadAccess();
    server.use(
      http.get(`${API}/threads/:id/accesses/`, () => HttpResponse.json([share])),
      http.post(`${API}/threads/:id/accesses/`, () =>
        HttpResponse.json(fx.threadAccess({ id: "new", mailbox_address: "user2@example.local" }), { status: 201 }),
      ),
      http.delete(`${API}/threads/:id/accesses/:access/`, () => new HttpResponse(null, { status: 204 })),
    );
    const user = userEvent.setup();
    renderApp(THREAD);
    const toolbar = await screen.findByRole("toolbar", { name: "Conversation actions" });
    await user.click(within(toolbar).getByRole("button", { name: "Share" }));
    const dialog = screen.getByRole("dialog", { name: "Sharing of “Quarterly report”" });
    expect(within(dialog).getByText(/belongs to user1@example.local/)).toBeInTheDocument();
    const list = await within(dialog).findByRole("list", { name: "Also shared with" });
    expect(within(list).getByText("contact@example.local")).toBeInTheDocument();

    await user.type(within(dialog).getByLabelText("Mailbox address"), "user2@example.local");
    await user.selectOptions(within(dialog).getByRole("combobox", { name: "Role" }), "editor");
    await user.click(within(dialog).getByRole("button", { name: "Share" }));
    await waitFor(() =>
      expect(sent("POST", "/accesses/")[0]).toMatchObject({
        path: `/api/v1.0/threads/${fx.THREAD_ID}/accesses/`,
        body: { mailbox: "user2@example.local", role: "editor" },
      }),
    );
    await user.click(within(dialog).getByRole("button", { name: "Remove the access of contact@example.local" }));
    await waitFor(() => expect(sent("DELETE", `/accesses/${share.id}/`)).toHaveLength(1));
  });

  it("says why a share was refused", async () => {
    server.use(
      http.post(`${API}/threads/:id/accesses/`, () =>
        HttpResponse.json({ detail: "Invalid input.", errors: { mailbox: ["No mailbox has this address."] } }, { status: 400 }),
      ),
    );
    const user = userEvent.setup();
    renderApp(THREAD);
    await user.click(await screen.findByRole("button", { name: "Share" }));
    const dialog = screen.getByRole("dialog");
    expect(await within(dialog).findByText("No other mailbox sees this conversation.")).toBeInTheDocument();
    await user.type(within(dialog).getByLabelText("Mailbox address"), "ghost@example.local{Enter}");
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("mailbox: No mailbox has this address.");
  });

  it("is read-only for viewers of the conversation's mailbox", async () => {
    server.use(
      http.get(`${API}/mailboxes/`, () => HttpResponse.json([fx.mailbox({ role: "viewer" })])),
      http.get(`${API}/threads/:id/accesses/`, () => HttpResponse.json([fx.threadAccess()])),
    );
    const user = userEvent.setup();
    renderApp(THREAD);
    await user.click(await screen.findByRole("button", { name: "Share" }));
    const dialog = screen.getByRole("dialog");
    expect(within(dialog).getByText(/Only editors of the mailbox/)).toBeInTheDocument();
    expect(await within(dialog).findByText("Viewer (reads)")).toBeInTheDocument();
    expect(within(dialog).queryByLabelText("Mailbox address")).not.toBeInTheDocument();
  });
});
