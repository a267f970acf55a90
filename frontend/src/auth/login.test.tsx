import { act, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { describe, expect, it, vi } from "vitest";

import { browser } from "../app/browser";

import * as fx from "../test/fixtures";
import { renderApp } from "../test/render";
import { API, requests, server } from "../test/server";

const anonymous = http.get(`${API}/users/me/`, () =>
  HttpResponse.json({ detail: "Authentication credentials were not provided." }, { status: 401 }),
);

describe("login", () => {
  it("sends an anonymous visitor to the login page, then back where they were", async () => {
    let loggedIn = false;
    server.use(
      http.get(`${API}/users/me/`, () =>
        loggedIn ? HttpResponse.json(fx.user()) : HttpResponse.json({ detail: "no" }, { status: 401 }),
      ),
      http.post(`${API}/auth/login/`, () => {
        loggedIn = true;
        return HttpResponse.json(fx.user());
      }),
    );
    const { router } = renderApp(`/mailboxes/${fx.SHARED_MAILBOX_ID}/sent`);
    const email = await screen.findByLabelText("E-mail address");
    expect(router.state.location.pathname).toBe("/login");
    expect(router.state.location.search).toBe(
      `?next=${encodeURIComponent(`/mailboxes/${fx.SHARED_MAILBOX_ID}/sent`)}`,
    );

    const user = userEvent.setup();
    await user.type(email, "user1@example.local");
    await user.type(screen.getByLabelText("Password"), "secret-password");
    await user.click(screen.getByRole("button", { name: "Log in" }));

    await screen.findByRole("heading", { name: "Sent" });
    expect(router.state.location.pathname).toBe(`/mailboxes/${fx.SHARED_MAILBOX_ID}/sent`);
    const login = requests.find((r) => r.path === "/api/v1.0/auth/login/");
    expect(login?.body).toEqual({ email: "user1@example.local", password: "secret-password" });
    expect(login?.csrf).toBe("token-from-server");
  });

  it("says when the credentials are wrong, without saying which", async () => {
    server.use(
      anonymous,
      http.post(`${API}/auth/login/`, () =>
        HttpResponse.json({ detail: "Unknown e-mail address or wrong password." }, { status: 400 }),
      ),
    );
    renderApp("/login");
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("E-mail address"), "nobody@example.local");
    await user.type(screen.getByLabelText("Password"), "nope-nope");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Unknown e-mail address or wrong password.");
  });

  it("tells how long to wait when throttled", async () => {
    server.use(
      anonymous,
      http.post(`${API}/auth/login/`, () =>
        HttpResponse.json({ detail: "Too many failed attempts." }, { status: 429, headers: { "Retry-After": "300" } }),
      ),
    );
    renderApp("/login");
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("E-mail address"), "user1@example.local");
    await user.type(screen.getByLabelText("Password"), "whatever1");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Try again in 5 minutes.");
  });

  it("offers the OIDC provider, coming back to the page asked for", async () => {
    server.use(
      anonymous,
      http.get(`${API}/auth/config/`, () =>
        HttpResponse.json(fx.authConfig({ local_accounts: false, oidc: true, oidc_login_url: "/oidc/authenticate/" })),
      ),
    );
    renderApp(`/login?next=${encodeURIComponent("/mailboxes/x/inbox")}`);
    const link = await screen.findByRole("link", { name: "Log in with your organisation's account" });
    expect(link).toHaveAttribute("href", `/oidc/authenticate/?next=${encodeURIComponent("/mailboxes/x/inbox")}`);
    expect(screen.queryByLabelText("Password")).not.toBeInTheDocument();
  });

  it("never sends the browser to another site after login", async () => {
    server.use(
      anonymous,
      http.get(`${API}/auth/config/`, () =>
        HttpResponse.json(fx.authConfig({ oidc: true, oidc_login_url: "/oidc/authenticate/" })),
      ),
    );
    renderApp(`/login?next=${encodeURIComponent("//evil.example/phish")}`);
    const link = await screen.findByRole("link", { name: "Log in with your organisation's account" });
    expect(link).toHaveAttribute("href", "/oidc/authenticate/?next=%2F");
  });

  it("shows a readable message when the server cannot be reached", async () => {
    server.use(anonymous, http.get(`${API}/auth/config/`, () => HttpResponse.error()));
    renderApp("/login");
    expect(await screen.findByRole("alert")).toHaveTextContent("The server cannot be reached.");
  });

  it("leads to login when the session ends while the app is open", async () => {
    const { router } = renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    await screen.findByRole("heading", { name: "Inbox" });
    server.use(
      http.get(`${API}/threads/:id/`, () => HttpResponse.json({ detail: "expired" }, { status: 401 })),
      http.get(`${API}/threads/:id/messages/`, () => HttpResponse.json({ detail: "expired" }, { status: 401 })),
      anonymous,
    );
    await act(() => router.navigate(`/mailboxes/${fx.MAILBOX_ID}/inbox/threads/${fx.THREAD_ID}`));
    await screen.findByLabelText("E-mail address");
    await waitFor(() => expect(router.state.location.pathname).toBe("/login"));
    expect(new URLSearchParams(router.state.location.search).get("next")).toBe(
      `/mailboxes/${fx.MAILBOX_ID}/inbox/threads/${fx.THREAD_ID}`,
    );
  });

  it("logs out and comes back to the login page", async () => {
    server.use(http.post(`${API}/auth/logout/`, () => new HttpResponse(null, { status: 204 })));
    const { router } = renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    server.use(anonymous);
    await userEvent.setup().click(await screen.findByRole("button", { name: "Log out" }));
    await screen.findByLabelText("E-mail address");
    expect(router.state.location.pathname).toBe("/login");
    expect(requests.some((r) => r.method === "POST" && r.path === "/api/v1.0/auth/logout/")).toBe(true);
  });

  it("ends an OIDC session at the provider too", async () => {
    const leave = vi.spyOn(browser, "leaveTo").mockImplementation(() => {});
    const provider = "https://sso.example.org/logout?client_id=facteur&id_token_hint=x";
    server.use(
      http.get(`${API}/users/me/`, () => HttpResponse.json(fx.user({ auth: "oidc" }))),
      http.post(`${API}/auth/logout/`, () => HttpResponse.json({ redirect: provider })),
    );
    renderApp(`/mailboxes/${fx.MAILBOX_ID}/inbox`);
    await userEvent.setup().click(await screen.findByRole("button", { name: "Log out" }));
    await waitFor(() => expect(leave).toHaveBeenCalledWith(provider));
  });
});
