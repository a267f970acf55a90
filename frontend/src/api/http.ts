// The one place the webmail talks HTTP: every generated API call goes through apiFetch
// (orval.config.ts names it as the mutator). It sends the session cookie and the CSRF
// token, turns error answers into ApiError, and reports a 401 so the app can log in.

export const CSRF_COOKIE = "csrftoken";
const CSRF_URL = "/api/v1.0/auth/csrf/";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** An answer that is not a success, in the API's one error shape. */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  readonly fieldErrors: Record<string, string[]>;
  /** Seconds to wait, from Retry-After (429). */
  readonly retryAfter: number | null;

  constructor(
    status: number,
    detail: string,
    fieldErrors: Record<string, string[]> = {},
    retryAfter: number | null = null,
  ) {
    super(detail || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.fieldErrors = fieldErrors;
    this.retryAfter = retryAfter;
  }

  /** The request never got an answer (network down, server unreachable). */
  get isNetworkError(): boolean {
    return this.status === 0;
  }
}

/** Orval types the errors of generated hooks with this. */
export type ErrorType<_E> = ApiError;

type UnauthorizedListener = () => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Called on every 401: the session is gone or never was. Returns an unsubscribe. */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => {
    unauthorizedListeners.delete(listener);
  };
}

export function readCookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** The CSRF token: the cookie when set, otherwise asked for (it sets the cookie). */
async function csrfToken(refresh = false): Promise<string> {
  const cookie = refresh ? null : readCookie(CSRF_COOKIE);
  if (cookie) return cookie;
  const response = await send(CSRF_URL, { method: "GET" });
  if (!response.ok) throw await toApiError(response);
  const body = (await response.json()) as { csrf_token: string };
  return readCookie(CSRF_COOKIE) ?? body.csrf_token;
}

/** The header writes need, for requests made outside apiFetch (uploads with progress). */
export async function csrfHeader(): Promise<string> {
  return csrfToken();
}

/** Turns a raw answer into the ApiError apiFetch would have thrown (and reports a 401). */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  const error = await toApiError(response);
  if (error.status === 401) unauthorizedListeners.forEach((listener) => listener());
  return error;
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    // Absolute, so that the same code runs in a browser and under test (Node's fetch).
    return await fetch(new URL(url, window.location.href), { credentials: "same-origin", ...init });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "");
  }
}

async function toApiError(response: Response): Promise<ApiError> {
  let detail = "";
  let errors: Record<string, string[]> = {};
  try {
    const body = (await response.json()) as { detail?: unknown; errors?: unknown };
    if (typeof body.detail === "string") detail = body.detail;
    if (body.errors && typeof body.errors === "object") {
      errors = body.errors as Record<string, string[]>;
    }
  } catch {
    // Not JSON (a proxy's error page): the status alone says what happened.
  }
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return new ApiError(response.status, detail, errors, Number.isNaN(retryAfter) ? null : retryAfter);
}

function isCsrfFailure(error: ApiError): boolean {
  return error.status === 403 && error.detail.startsWith("CSRF Failed");
}

export async function apiFetch<T>(url: string, options: RequestInit = {}): Promise<T> {
  const method = (options.method ?? "GET").toUpperCase();
  const headers = new Headers(options.headers);
  headers.set("Accept", "application/json");
  const unsafe = !SAFE_METHODS.has(method);
  if (unsafe) headers.set("X-CSRFToken", await csrfToken());

  let response = await send(url, { ...options, method, headers });
  if (!response.ok && unsafe && response.status === 403) {
    const error = await toApiError(response.clone());
    // Logging in (or out) rotates the token: fetch the new one and try once more.
    if (isCsrfFailure(error)) {
      headers.set("X-CSRFToken", await csrfToken(true));
      response = await send(url, { ...options, method, headers });
    }
  }
  if (!response.ok) {
    const error = await toApiError(response);
    if (error.status === 401) unauthorizedListeners.forEach((listener) => listener());
    throw error;
  }
  if (response.status === 204 || response.headers.get("Content-Length") === "0") {
    return undefined as T;
  }
  const type = response.headers.get("Content-Type") ?? "";
  if (type.includes("json")) return (await response.json()) as T;
  return (await response.blob()) as T;
}
