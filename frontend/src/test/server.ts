// A test double of the backend for unit tests: MSW answers the API's URLs with the
// fixtures. Tests change answers with server.use(...) and read `requests` to see
// what the webmail sent.
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";

import * as fx from "./fixtures";

export const API = "http://localhost:3000/api/v1.0";

export interface Seen {
  method: string;
  path: string;
  search: string;
  body: unknown;
  csrf: string | null;
}
export const requests: Seen[] = [];

export const defaultHandlers = [
  http.get(`${API}/auth/config/`, () => HttpResponse.json(fx.authConfig())),
  http.get(`${API}/auth/csrf/`, () => {
    document.cookie = "csrftoken=token-from-server; path=/";
    return HttpResponse.json({ csrf_token: "token-from-server" });
  }),
  http.get(`${API}/users/me/`, () => HttpResponse.json(fx.user())),
  http.get(`${API}/mailboxes/`, () => HttpResponse.json(fx.mailboxes())),
  http.get(`${API}/labels/`, () => HttpResponse.json([])),
  http.get(`${API}/threads/`, () => HttpResponse.json(fx.threadList([]))),
  http.get(`${API}/threads/:id/`, ({ params }) => HttpResponse.json(fx.thread({ id: String(params.id) }))),
  http.get(`${API}/threads/:id/messages/`, () => HttpResponse.json([fx.message()])),
  http.post(`${API}/flags/`, () => HttpResponse.json({ updated: 1 })),
  http.get(`${API}/mailboxes/:id/accesses/`, () => HttpResponse.json([fx.mailboxAccess()])),
  http.get(`${API}/threads/:id/accesses/`, () => HttpResponse.json([])),
  http.get(`${API}/outbox/`, () => HttpResponse.json([])),
  http.get(`${API}/contacts/`, () => HttpResponse.json([])),
  http.post(`${API}/drafts/`, async ({ request }) =>
    HttpResponse.json(fx.draftFrom(fx.DRAFT_ID, (await request.json()) as fx.DraftBody), { status: 201 }),
  ),
  http.patch(`${API}/drafts/:id/`, async ({ params, request }) =>
    HttpResponse.json(fx.draftFrom(String(params.id), (await request.json()) as fx.DraftBody)),
  ),
  http.delete(`${API}/drafts/:id/`, () => new HttpResponse(null, { status: 204 })),
  http.post(`${API}/drafts/:id/send/`, async ({ params, request }) => {
    const body = (await request.json()) as { send_at?: string };
    const sendAt = body.send_at ?? new Date(Date.now() + 10_000).toISOString();
    return HttpResponse.json(fx.message({ id: String(params.id), is_sender: true, send_at: sendAt }), { status: 202 });
  }),
  http.post(`${API}/messages/:id/cancel-send/`, ({ params }) =>
    HttpResponse.json(fx.draftFrom(String(params.id), { subject: "Back to draft" })),
  ),
  http.post(`${API}/messages/:id/retry-send/`, ({ params }) =>
    HttpResponse.json(fx.message({ id: String(params.id) }), { status: 202 }),
  ),
  // (jsdom's XMLHttpRequest does not pass the file name along: the fixture names it.)
  http.post(`${API}/mailboxes/:id/blobs/`, () => HttpResponse.json(fx.upload(), { status: 201 })),
  http.patch(`${API}/users/me/`, async ({ request }) => {
    const body = (await request.json()) as Record<string, string>;
    return HttpResponse.json(fx.user(body));
  }),
];

export const server = setupServer(...defaultHandlers);

server.events.on("request:start", async ({ request }) => {
  const url = new URL(request.url);
  let body: unknown = null;
  if (request.method !== "GET" && request.method !== "HEAD") {
    const text = await request.clone().text();
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
  }
  requests.push({
    method: request.method,
    path: url.pathname,
    search: url.search,
    body,
    csrf: request.headers.get("X-CSRFToken"),
  });
});
