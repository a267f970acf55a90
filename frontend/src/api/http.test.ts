import { http, HttpResponse } from "msw";
import { describe, expect, it, vi } from "vitest";

import { authLogin, authLogout } from "./generated/endpoints/auth/auth";
import { mailboxesList } from "./generated/endpoints/mailboxes/mailboxes";
import { ApiError, apiFetch, onUnauthorized } from "./http";
import { API, requests, server } from "../test/server";

describe("apiFetch", () => {
  it("returns the parsed JSON of a success", async () => {
    const mailboxes = await mailboxesList();
    expect(mailboxes.map((mailbox) => mailbox.address)).toEqual([
      "user1@example.local",
      "contact@example.local",
    ]);
  });

  it("asks for a CSRF token before the first write and sends it", async () => {
    server.use(http.post(`${API}/auth/login/`, () => HttpResponse.json({ detail: "x" }, { status: 400 })));
    await expect(authLogin({ email: "a@b.c", password: "pw" })).rejects.toBeInstanceOf(ApiError);
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /api/v1.0/auth/csrf/",
      "POST /api/v1.0/auth/login/",
    ]);
    expect(requests[1]?.csrf).toBe("token-from-server");
    expect(requests[1]?.body).toEqual({ email: "a@b.c", password: "pw" });
  });

  it("uses the csrftoken cookie when there is one", async () => {
    document.cookie = "csrftoken=from-cookie; path=/";
    await apiFetch("/api/v1.0/flags/", { method: "POST", body: "{}" });
    expect(requests.map((r) => r.path)).toEqual(["/api/v1.0/flags/"]);
    expect(requests[0]?.csrf).toBe("from-cookie");
  });

  it("fetches a fresh token and retries once when the token was rotated", async () => {
    document.cookie = "csrftoken=stale; path=/";
    server.use(
      http.post(`${API}/flags/`, ({ request }) =>
        request.headers.get("X-CSRFToken") === "stale"
          ? HttpResponse.json({ detail: "CSRF Failed: CSRF token incorrect." }, { status: 403 })
          : HttpResponse.json({ updated: 3 }),
      ),
    );
    await expect(apiFetch("/api/v1.0/flags/", { method: "POST", body: "{}" })).resolves.toEqual({ updated: 3 });
    expect(requests.map((r) => `${r.method} ${r.path} ${r.csrf ?? ""}`)).toEqual([
      "POST /api/v1.0/flags/ stale",
      "GET /api/v1.0/auth/csrf/ ",
      "POST /api/v1.0/flags/ token-from-server",
    ]);
  });

  it("turns the API's error shape into an ApiError", async () => {
    server.use(
      http.post(`${API}/flags/`, () =>
        HttpResponse.json({ detail: "Invalid input.", errors: { flag: ["Not a valid choice."] } }, { status: 400 }),
      ),
    );
    const error = await apiFetch("/api/v1.0/flags/", { method: "POST", body: "{}" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, detail: "Invalid input.", fieldErrors: { flag: ["Not a valid choice."] } });
  });

  it("reads Retry-After on 429 and survives a body that is not JSON", async () => {
    server.use(
      http.get(`${API}/mailboxes/`, () => new HttpResponse("<h1>slow down</h1>", { status: 429, headers: { "Retry-After": "120" } })),
    );
    const error = (await mailboxesList().catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(429);
    expect(error.retryAfter).toBe(120);
    expect(error.detail).toBe("");
  });

  it("reports a network failure as status 0", async () => {
    server.use(http.get(`${API}/mailboxes/`, () => HttpResponse.error()));
    const error = (await mailboxesList().catch((e: unknown) => e)) as ApiError;
    expect(error.isNetworkError).toBe(true);
  });

  it("tells the listeners about a 401", async () => {
    const listener = vi.fn();
    const stop = onUnauthorized(listener);
    server.use(
      http.get(`${API}/mailboxes/`, () =>
        HttpResponse.json({ detail: "Authentication credentials were not provided." }, { status: 401 }),
      ),
    );
    await expect(mailboxesList()).rejects.toMatchObject({ status: 401 });
    expect(listener).toHaveBeenCalledTimes(1);
    stop();
    await expect(mailboxesList()).rejects.toMatchObject({ status: 401 });
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it("answers undefined for 204 No Content", async () => {
    document.cookie = "csrftoken=t; path=/";
    server.use(http.post(`${API}/auth/logout/`, () => new HttpResponse(null, { status: 204 })));
    await expect(authLogout()).resolves.toBeUndefined();
  });
});
