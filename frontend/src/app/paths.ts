// The webmail's URLs: every place in it can be shared and reloaded.
//   /mailboxes/<mailbox>/<folder>[/threads/<thread>]
//   /mailboxes/<mailbox>/labels/<label>[/threads/<thread>]
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
  | { mailboxId: string; folder: Folder; labelId?: undefined }
  | { mailboxId: string; labelId: string; folder?: undefined };

export function listPath(place: ListPlace): string {
  const mailbox = `/mailboxes/${encodeURIComponent(place.mailboxId)}`;
  return place.labelId !== undefined
    ? `${mailbox}/labels/${encodeURIComponent(place.labelId)}`
    : `${mailbox}/${place.folder}`;
}

/** Mail not yet delivered everywhere: a list of messages, not a thread view. */
export function outboxPath(mailboxId: string): string {
  return `/mailboxes/${encodeURIComponent(mailboxId)}/outbox`;
}

export function threadPath(place: ListPlace, threadId: string): string {
  return `${listPath(place)}/threads/${encodeURIComponent(threadId)}`;
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
