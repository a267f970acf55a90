import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { describe, expect, it, vi } from "vitest";

import * as fx from "../test/fixtures";
import { renderApp } from "../test/render";
import { API, requests, server } from "../test/server";

const THREAD_URL = `/mailboxes/${fx.MAILBOX_ID}/inbox/threads/${fx.THREAD_ID}`;
const first = fx.message({
  id: "c0000000-0000-4000-8000-000000000001",
  snippet: "First message snippet",
  text_body: "First body",
});
const second = fx.message({
  id: "c0000000-0000-4000-8000-000000000002",
  sender: { name: "", email: "bob@example.org" },
  snippet: "Second message snippet",
  text_body: "Second body",
  recipients: [
    { kind: "to", name: "User One", email: "user1@example.local", delivery_status: "delivered", delivery_message: "", delivered_at: null, retry_count: 0, retry_at: null },
    { kind: "cc", name: "", email: "carol@example.org", delivery_status: "delivered", delivery_message: "", delivered_at: null, retry_count: 0, retry_at: null },
  ],
  attachments: [
    {
      id: "d0000000-0000-4000-8000-000000000001",
      blob: "e0000000-0000-4000-8000-000000000001",
      filename: "figures.pdf",
      content_type: "application/pdf",
      size: 123456,
      content_id: "",
      is_inline: false,
      download_url: "/api/v1.0/blobs/e0000000-0000-4000-8000-000000000001/",
    },
  ],
});

function serveMessages(...messages: ReturnType<typeof fx.message>[]) {
  server.use(http.get(`${API}/threads/:id/messages/`, () => HttpResponse.json(messages)));
}

describe("the thread view", () => {
  it("shows the last message open and the earlier ones collapsed", async () => {
    serveMessages(first, second);
    renderApp(THREAD_URL);
    const article = await screen.findByRole("article", { name: "Quarterly report" });
    const [one, two] = within(article).getAllByRole("button", { expanded: undefined }).filter((b) =>
      b.classList.contains("message-header"),
    );
    if (!one || !two) throw new Error("two message headers expected");
    expect(one).toHaveAttribute("aria-expanded", "false");
    expect(one).toHaveTextContent("First message snippet");
    expect(screen.queryByText("First body")).not.toBeInTheDocument();
    expect(two).toHaveAttribute("aria-expanded", "true");
    expect(screen.getByText("Second body")).toBeVisible();
    expect(two).toHaveTextContent("bob@example.org");
    expect(screen.getByText("Cc").nextElementSibling).toHaveTextContent("carol@example.org");
    const attachment = screen.getByRole("link", { name: "figures.pdf" });
    expect(attachment).toHaveAttribute("href", "/api/v1.0/blobs/e0000000-0000-4000-8000-000000000001/");
    expect(screen.getByText("123 kB")).toBeInTheDocument();

    expect(document.title).toBe("Quarterly report — Facteur");
    expect(screen.getByRole("heading", { name: "Quarterly report" })).toHaveFocus();

    await userEvent.setup().click(one);
    expect(one).toHaveAttribute("aria-expanded", "true");
    expect(screen.getByText("First body")).toBeVisible();
  });

  it("marks an unread thread read when it is opened", async () => {
    serveMessages(fx.message({ is_unread: true }));
    renderApp(THREAD_URL);
    await screen.findByRole("article");
    await waitFor(() =>
      expect(requests.find((r) => r.path === "/api/v1.0/flags/")?.body).toEqual({
        flag: "unread",
        value: false,
        thread_ids: [fx.THREAD_ID],
      }),
    );
  });

  it("does not write anything for a thread already read", async () => {
    server.use(http.get(`${API}/threads/:id/`, () => HttpResponse.json(fx.thread({ unread_count: 0 }))));
    renderApp(THREAD_URL);
    await screen.findByRole("article");
    expect(requests.some((r) => r.method === "POST")).toBe(false);
  });

  it("renders HTML in a sandboxed frame without scripts, remote images blocked until asked", async () => {
    serveMessages(
      fx.message({
        html_body: '<p>Hello <img src="https://tracker.example/pixel.gif"></p>',
        has_remote_content: true,
      }),
    );
    renderApp(THREAD_URL);
    const frame = (await screen.findByTitle("Message: Quarterly report")) as HTMLIFrameElement;
    const sandbox = frame.getAttribute("sandbox") ?? "";
    expect(sandbox.split(" ")).not.toContain("allow-scripts");
    expect(sandbox.split(" ")).not.toContain("allow-forms");
    expect(frame).toHaveAttribute("referrerpolicy", "no-referrer");
    const policy = () =>
      new DOMParser()
        .parseFromString(frame.getAttribute("srcdoc") ?? "", "text/html")
        .querySelector('meta[http-equiv="Content-Security-Policy"]')
        ?.getAttribute("content");
    expect(policy()).toContain("default-src 'none'");
    expect(policy()).not.toContain("https:");

    expect(screen.getByRole("note")).toHaveTextContent("Remote images are hidden");
    await userEvent.setup().click(screen.getByRole("button", { name: "Show images" }));
    expect(policy()).toMatch(/img-src [^;]*https:/);
    expect(screen.queryByRole("button", { name: "Show images" })).not.toBeInTheDocument();
  });

  it("shows plain text as text, never as HTML", async () => {
    serveMessages(fx.message({ text_body: "<b>not bold</b>" }));
    renderApp(THREAD_URL);
    expect(await screen.findByText("<b>not bold</b>")).toBeInTheDocument();
    expect(screen.queryByTitle(/^Message:/)).not.toBeInTheDocument();
  });

  it("offers the raw source of a message the parser could not fully read", async () => {
    serveMessages(fx.message({ is_malformed: true, parse_errors: ["bad header"] }));
    renderApp(THREAD_URL);
    expect(await screen.findByRole("link", { name: "View the raw source" })).toHaveAttribute(
      "href",
      "/api/v1.0/messages/55555555-5555-4555-8555-555555555555/raw/",
    );
  });

  it("shows a readable message for a thread that does not exist", async () => {
    server.use(http.get(`${API}/threads/:id/`, () => HttpResponse.json({ detail: "Not found." }, { status: 404 })));
    renderApp(THREAD_URL);
    const pane = await screen.findByRole("region", { name: "Conversation" });
    expect(await within(pane).findByRole("alert")).toHaveTextContent("This item does not exist or you cannot see it.");
  });

  it("shows an error page, not a blank screen, when an answer is malformed", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {}); // React reports the crash
    server.use(
      http.get(`${API}/threads/:id/`, () => HttpResponse.json({ ...fx.thread(), labels: null })),
    );
    renderApp(THREAD_URL);
    expect(await screen.findByRole("heading", { name: "This page could not be shown." })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });

  it("asks to pick a conversation when none is open", async () => {
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    expect(await screen.findByText("Select a conversation to read it.")).toBeInTheDocument();
  });
});
