import { matchPath, useLocation } from "react-router";

import { isFolder, SEARCH_PARAM, type Folder, type ListPlace } from "./paths";

export interface Place {
  mailboxId?: string;
  folder?: Folder;
  labelId?: string;
  /** The query, on a search's URL. */
  search?: string;
  threadId?: string;
  /** The list this URL shows, when it shows one. */
  list?: ListPlace;
}

/** Where the URL says we are, for components outside the route that matched it. */
export function usePlace(): Place {
  const location = useLocation();
  return placeOf(location.pathname, location.search);
}

/** Where `pathname` (and its `?q=` for a search) is in the webmail (also read before the app renders: prefetch.ts). */
export function placeOf(pathname: string, query = ""): Place {
  const search = matchPath("/mailboxes/:mailboxId/search/*", pathname);
  if (search?.params.mailboxId) {
    const { mailboxId } = search.params;
    const text = new URLSearchParams(query).get(SEARCH_PARAM)?.trim();
    const threadId = threadOf(search.params["*"]);
    // A search URL without a query is the mailbox, no list (the route sends it to the inbox).
    return text ? { mailboxId, search: text, threadId, list: { mailboxId, search: text } } : { mailboxId };
  }
  const label = matchPath("/mailboxes/:mailboxId/labels/:labelId/*", pathname);
  if (label?.params.mailboxId && label.params.labelId) {
    const { mailboxId, labelId } = label.params;
    return { mailboxId, labelId, threadId: threadOf(label.params["*"]), list: { mailboxId, labelId } };
  }
  const folder = matchPath("/mailboxes/:mailboxId/:folder/*", pathname);
  if (folder?.params.mailboxId && isFolder(folder.params.folder)) {
    const { mailboxId } = folder.params;
    const place = { mailboxId, folder: folder.params.folder };
    return { ...place, threadId: threadOf(folder.params["*"]), list: place };
  }
  const mailbox = matchPath("/mailboxes/:mailboxId/*", pathname);
  return mailbox?.params.mailboxId ? { mailboxId: mailbox.params.mailboxId } : {};
}

function threadOf(rest: string | undefined): string | undefined {
  const match = /^threads\/([^/]+)/.exec(rest ?? "");
  return match?.[1] ? decodeURIComponent(match[1]) : undefined;
}
