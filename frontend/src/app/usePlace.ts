import { matchPath, useLocation } from "react-router";

import { isFolder, type Folder, type ListPlace } from "./paths";

export interface Place {
  mailboxId?: string;
  folder?: Folder;
  labelId?: string;
  threadId?: string;
  /** The list this URL shows, when it shows one. */
  list?: ListPlace;
}

/** Where the URL says we are, for components outside the route that matched it. */
export function usePlace(): Place {
  return placeOf(useLocation().pathname);
}

/** Where `pathname` is in the webmail (also read before the app renders: prefetch.ts). */
export function placeOf(pathname: string): Place {
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
