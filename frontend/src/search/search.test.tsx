import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import axe from "axe-core";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import type { SearchMatch, Segment, ThreadList } from "../api/generated/model";
import { listPath, threadPath } from "../app/paths";
import { placeOf } from "../app/usePlace";
import * as fx from "../test/fixtures";
import { renderApp } from "../test/render";
import { API, requests, server } from "../test/server";
import { backFromSearch, searchDestination } from "./SearchBox";

const M = fx.MAILBOX_ID;
const INBOX = `/mailboxes/${M}/inbox`;
const seg = (text: string, match = false): Segment => ({ text, match });
const match = (subject: Segment[], snippet: Segment[]): SearchMatch => ({
  message: "m1",
  score: 0.9,
  subject,
  snippet,
});

/** The search parameters the webmail sent to the thread list. */
const searchesSent = () =>
  requests
    .filter((r) => r.path === "/api/v1.0/threads/" && r.search.includes("search="))
    .map((r) => Object.fromEntries(new URLSearchParams(r.search)));

/** Answers searches with `answer`, the plain lists with the fixture thread. */
function serveSearch(answer: (params: URLSearchParams) => ThreadList | Response) {
  server.use(
    http.get(`${API}/threads/`, ({ request }) => {
      const params = new URL(request.url).searchParams;
      if (!params.get("search")) return HttpResponse.json(fx.threadList([fx.thread({ subject: "Plain list" })]));
      const result = answer(params);
      return result instanceof Response ? result : HttpResponse.json(result);
    }),
  );
}

/** The list pane's live region announcing how many results there are. */
const countStatus = () => within(screen.getByRole("main", { name: "Conversations" })).getByRole("status");

const budgetResults = (): ThreadList => ({
  ...fx.threadList([fx.thread({ subject: "Budget 2027", snippet: "raw snippet" })]),
  matches: {
    [fx.THREAD_ID]: match([seg("Budget", true), seg(" 2027")], [seg("the "), seg("budget", true), seg(" is ready")]),
  },
});

describe("search URLs", () => {
  it("keep the query in ?q= on the results and on a thread opened from them", () => {
    const query = 'from:alice "annual report" & #1 ?x=y';
    const place = { mailboxId: M, search: query };
    const path = listPath(place);
    expect(path).toBe(`/mailboxes/${M}/search?q=from%3Aalice+%22annual+report%22+%26+%231+%3Fx%3Dy`);
    const [pathname, search] = path.split("?");
    expect(placeOf(pathname ?? "", `?${search}`)).toEqual({ mailboxId: M, search: query, list: place });

    const thread = threadPath(place, "t 1");
    expect(thread).toBe(`/mailboxes/${M}/search/threads/t%201?${search}`);
    const [threadPathname, threadSearch] = thread.split("?");
    expect(placeOf(threadPathname ?? "", `?${threadSearch}`)).toMatchObject({ search: query, threadId: "t 1" });
  });

  it("a search URL without a query shows no list; folders and labels keep their paths", () => {
    expect(placeOf(`/mailboxes/${M}/search`, "?q=%20%20")).toEqual({ mailboxId: M });
    expect(listPath({ mailboxId: M, folder: "sent" })).toBe(`/mailboxes/${M}/sent`);
    expect(threadPath({ mailboxId: M, labelId: "l1" }, "t1")).toBe(`/mailboxes/${M}/labels/l1/threads/t1`);
  });

  it("Enter runs the trimmed query; a blank one goes back; leaving returns to a list of the same mailbox", () => {
    expect(searchDestination(M, "  budget  ", INBOX)).toBe(`/mailboxes/${M}/search?q=budget`);
    expect(searchDestination(M, "   ", `/mailboxes/${M}/starred`)).toBe(`/mailboxes/${M}/starred`);
    expect(backFromSearch(M, `/mailboxes/${M}/labels/l1`)).toBe(`/mailboxes/${M}/labels/l1`);
    expect(backFromSearch(M, `/mailboxes/${fx.SHARED_MAILBOX_ID}/sent`)).toBe(INBOX);
    expect(backFromSearch(M, undefined)).toBe(INBOX);
  });
});

describe("the search box", () => {
  it("runs the query on Enter, in the open mailbox, and shows the results highlighted", async () => {
    serveSearch(budgetResults);
    const user = userEvent.setup();
    const { router } = renderApp(INBOX);
    await screen.findByRole("link", { name: /Plain list/ });
    const form = screen.getByRole("search", { name: "Search mail" });
    await user.type(within(form).getByRole("searchbox", { name: "Search mail" }), "from:alice budget{Enter}");

    expect(await screen.findByRole("heading", { name: "Search: from:alice budget" })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe(`/mailboxes/${M}/search`);
    expect(new URLSearchParams(router.state.location.search).get("q")).toBe("from:alice budget");
    // Scoped to the mailbox, no view: the backend's default (all but trash and spam) or the query's in:.
    expect(searchesSent()).toEqual([{ mailbox: M, search: "from:alice budget", page_size: "50" }]);
    expect(countStatus()).toHaveTextContent("1 conversation found");

    const row = screen.getByRole("link", { name: /Budget 2027/ });
    expect([...row.querySelectorAll("mark")].map((mark) => mark.textContent)).toEqual(["Budget", "budget"]);
    expect(row).toHaveTextContent("the budget is ready");
    expect(row).not.toHaveTextContent("raw snippet");
    expect(document.title).toContain("Search: from:alice budget");
  });

  it("keeps the query when a thread is opened from the results and back, and leaves with Escape", async () => {
    serveSearch(budgetResults);
    const user = userEvent.setup();
    const { router } = renderApp(`/mailboxes/${M}/starred`);
    await screen.findByRole("link", { name: /Plain list/ });
    const box = screen.getByRole("searchbox", { name: "Search mail" });
    await user.type(box, "budget{Enter}");
    await user.click(await screen.findByRole("link", { name: /Budget 2027/ }));

    await waitFor(() => expect(router.state.location.pathname).toBe(`/mailboxes/${M}/search/threads/${fx.THREAD_ID}`));
    expect(router.state.location.search).toBe("?q=budget");
    expect(box).toHaveValue("budget");
    await user.click(await screen.findByRole("link", { name: "Back to the list" }));
    await waitFor(() => expect(router.state.location.pathname).toBe(`/mailboxes/${M}/search`));
    expect(box).toHaveValue("budget");

    await user.click(box);
    await user.keyboard("{Escape}");
    // Back to the folder the search started from.
    await waitFor(() => expect(router.state.location.pathname).toBe(`/mailboxes/${M}/starred`));
    expect(box).toHaveValue("");
  });

  it("the × button clears the search and goes back to the folder", async () => {
    serveSearch(budgetResults);
    const user = userEvent.setup();
    const { router } = renderApp(`/mailboxes/${M}/search?q=budget`);
    const box = await screen.findByRole("searchbox", { name: "Search mail" });
    // A shared link fills the box.
    expect(box).toHaveValue("budget");
    await screen.findByRole("link", { name: /Budget 2027/ });
    await user.click(screen.getByRole("button", { name: "Clear the search" }));
    await waitFor(() => expect(router.state.location.pathname).toBe(INBOX));
    expect(box).toHaveValue("");
    expect(box).toHaveFocus();
  });

  it("renders segments as text: markup in a subject or snippet is never HTML", async () => {
    const hostile = '<img src=x onerror="window.__pwned=1">';
    serveSearch(() => ({
      ...fx.threadList([fx.thread()]),
      matches: { [fx.THREAD_ID]: match([seg(hostile, true)], [seg("<script>alert(1)</script> "), seg("x", true)]) },
    }));
    renderApp(`/mailboxes/${M}/search?q=img`);
    const row = await screen.findByRole("link", { name: /onerror/ });
    expect(row.querySelector("img, script")).toBeNull();
    expect(row.querySelector("mark")).toHaveTextContent(hostile);
    expect(row).toHaveTextContent("<script>alert(1)</script> x");
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it("says when nothing matches, repeating the query", async () => {
    serveSearch(() => ({ ...fx.threadList([]), matches: {} }));
    renderApp(`/mailboxes/${M}/search?q=zzqx`);
    expect(await screen.findByText(/No conversation matches “zzqx”/)).toBeInTheDocument();
    expect(countStatus()).toHaveTextContent("0 conversations found");
  });

  it("pages through the results with the search's cursor", async () => {
    serveSearch((params) =>
      params.get("cursor") === "search:50"
        ? { ...fx.threadList([fx.thread({ id: "t2", subject: "Second page" })]), matches: {} }
        : { ...budgetResults(), next_cursor: "search:50" },
    );
    const user = userEvent.setup();
    renderApp(`/mailboxes/${M}/search?q=budget`);
    await screen.findByRole("link", { name: /Budget 2027/ });
    expect(countStatus()).toHaveTextContent("1 conversation found so far, more below");
    await user.click(screen.getByRole("button", { name: "Show more conversations" }));
    expect(await screen.findByRole("link", { name: /Second page/ })).toBeInTheDocument();
    expect(searchesSent().at(-1)).toMatchObject({ search: "budget", cursor: "search:50" });
    expect(countStatus()).toHaveTextContent("2 conversations found");
  });

  it("shows the API's reason for a refused query (400)", async () => {
    serveSearch(() =>
      HttpResponse.json({ errors: { search: ["Too many terms (at most 64)."] } }, { status: 400 }),
    );
    renderApp(`/mailboxes/${M}/search?q=a`);
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "This search cannot be run: Too many terms (at most 64).",
    );
    expect(screen.getByRole("heading", { name: "Search: a" })).toBeInTheDocument();
  });

  it("says what to do when the search times out (503), in French too", async () => {
    serveSearch(() =>
      HttpResponse.json({ detail: "The search took too long; make it more precise." }, { status: 503 }),
    );
    server.use(http.get(`${API}/users/me/`, () => HttpResponse.json(fx.user({ language: "fr" }))));
    renderApp(`/mailboxes/${M}/search?q=le`, { language: "fr" });
    expect(await screen.findByRole("alert")).toHaveTextContent("La recherche a pris trop de temps.");
    // A timeout is not retried: it would time out again.
    expect(searchesSent()).toHaveLength(1);
  });

  it("lists the operators in a help panel, in French with the French aliases", async () => {
    const user = userEvent.setup();
    server.use(http.get(`${API}/users/me/`, () => HttpResponse.json(fx.user({ language: "fr" }))));
    renderApp(INBOX, { language: "fr" });
    const toggle = await screen.findByRole("button", { name: "Opérateurs de recherche" });
    expect(toggle).toHaveAttribute("aria-expanded", "false");
    await user.click(toggle);
    const panel = screen.getByRole("region", { name: "Opérateurs de recherche" });
    for (const operator of ["from:", "to:", "subject:", "in:", "is:", "has:attachment", "label:", "before:", "newer_than:", "larger:", '"', "-", "OR"]) {
      expect(panel).toHaveTextContent(operator);
    }
    expect(panel).toHaveTextContent("aussi de:");
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("region", { name: "Opérateurs de recherche" })).not.toBeInTheDocument();
  });

  it("passes axe-core's checks with results and the help open", async () => {
    serveSearch(budgetResults);
    const user = userEvent.setup();
    renderApp(`/mailboxes/${M}/search?q=budget`);
    await screen.findByRole("link", { name: /Budget 2027/ });
    await user.click(screen.getByRole("button", { name: "Search operators" }));
    const results = await axe.run(document.body, { rules: { "color-contrast": { enabled: false } }, iframes: false });
    expect(results.violations.map((v) => v.id)).toEqual([]);
  });
});
