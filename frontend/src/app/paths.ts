// The webmail's URLs: every place in it can be shared and reloaded.
//   /mailboxes/<mailbox>/<folder>[/threads/<thread>]
//   /mailboxes/<mailbox>/labels/<label>[/threads/<thread>]
//   /mailboxes/<mailbox>/search[/threads/<thread>]?q=<query>
//   /mailboxes/<mailbox>/outbox
import type { ThreadsListView } from "../api/generated/model";

export const FOLDERS = [
  "inbox",
  "starred",
  "drafts",
  "sent",
  "archive",
  "spam",
  "trash",
  "all",
] as const satisfies readonly ThreadsListView[];
export type Folder = (typeof FOLDERS)[number];

export function isFolder(value: string | undefined): value is Folder {
  return (FOLDERS as readonly string[]).includes(value ?? "");
}

export type ListPlace =
  | { mailboxId: string; folder: Folder; labelId?: undefined; search?: undefined }
  | { mailboxId: string; labelId: string; folder?: undefined; search?: undefined }
  /** A search in the mailbox's mail, every folder but trash and spam unless the query says `in:`. */
  | { mailboxId: string; search: string; folder?: undefined; labelId?: undefined };

/** The query parameter that holds a search, so that results can be shared and reloaded. */
export const SEARCH_PARAM = "q";

export function listPath(place: ListPlace): string {
  return place.search !== undefined ? `${listBase(place)}?${searchQuery(place.search)}` : listBase(place);
}

/** The list's path without its query string. */
function listBase(place: ListPlace): string {
  const mailbox = `/mailboxes/${encodeURIComponent(place.mailboxId)}`;
  if (place.search !== undefined) return `${mailbox}/search`;
  return place.labelId !== undefined
    ? `${mailbox}/labels/${encodeURIComponent(place.labelId)}`
    : `${mailbox}/${place.folder}`;
}

function searchQuery(search: string): string {
  return new URLSearchParams({ [SEARCH_PARAM]: search }).toString();
}

/** Mail not yet delivered everywhere: a list of messages, not a thread view. */
export function outboxPath(mailboxId: string): string {
  return `/mailboxes/${encodeURIComponent(mailboxId)}/outbox`;
}

export function threadPath(place: ListPlace, threadId: string): string {
  const path = `${listBase(place)}/threads/${encodeURIComponent(threadId)}`;
  // The query stays in the URL: back from the thread, the results are there again.
  return place.search !== undefined ? `${path}?${searchQuery(place.search)}` : path;
}

export const LOGIN_PATH = "/login";

/** The login page, coming back to `next` afterwards. */
export function loginPath(next: string): string {
  return next && next !== "/" && !next.startsWith(LOGIN_PATH)
    ? `${LOGIN_PATH}?next=${encodeURIComponent(next)}`
    : LOGIN_PATH;
}

/** Only paths of this site: `next` comes from the URL, anyone can write it. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) {
    return "/";
  }
  return next;
}
