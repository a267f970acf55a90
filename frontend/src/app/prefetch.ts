// The first screen's data, asked for as soon as the script runs and all at once, rather
// than one request after another as the components mount (who am I, then my mailboxes,
// then the inbox). The components find the answers in the cache; failures are left to
// them (they show the error, a 401 leads to the login page).
import type { QueryClient } from "@tanstack/react-query";

import { getLabelsListQueryOptions } from "../api/generated/endpoints/labels/labels";
import { getMailboxesListQueryOptions } from "../api/generated/endpoints/mailboxes/mailboxes";
import { getThreadsListInfiniteQueryOptions } from "../api/generated/endpoints/threads/threads";
import { getUsersMeRetrieveQueryOptions } from "../api/generated/endpoints/users/users";
import { threadListParams } from "../threads/ThreadList";
import { homeMailbox } from "./Home";
import { LOGIN_PATH, type ListPlace } from "./paths";
import { placeOf } from "./usePlace";

export function prefetchFirstScreen(queryClient: QueryClient, pathname: string): void {
  if (pathname.startsWith(LOGIN_PATH)) return;
  void queryClient.prefetchQuery({ ...getUsersMeRetrieveQueryOptions(), staleTime: Infinity });
  const mailboxes = queryClient.fetchQuery(getMailboxesListQueryOptions());
  const place = placeOf(pathname);
  if (place.list) {
    prefetchList(queryClient, place.list);
  } else if (pathname === "/") {
    mailboxes.then(
      (list) => {
        const home = homeMailbox(list);
        if (home) prefetchList(queryClient, { mailboxId: home.id, folder: "inbox" });
      },
      () => undefined, // the mailbox pane shows the error
    );
  }
}

function prefetchList(queryClient: QueryClient, place: ListPlace): void {
  void queryClient.prefetchInfiniteQuery({
    ...getThreadsListInfiniteQueryOptions(threadListParams(place)),
    initialPageParam: undefined,
  });
  void queryClient.prefetchQuery(getLabelsListQueryOptions({ mailbox: place.mailboxId }));
}
