import { waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { createQueryClient } from "../api/queryClient";
import { getThreadsListInfiniteQueryKey } from "../api/generated/endpoints/threads/threads";
import { threadListParams } from "../threads/ThreadList";
import * as fx from "../test/fixtures";
import { requests } from "../test/server";
import { prefetchFirstScreen } from "./prefetch";

const paths = () => requests.map((r) => r.path + r.search);

describe("prefetchFirstScreen", () => {
  it("at /, asks for the user and the mailboxes at once, then the home inbox, into the components' cache keys", async () => {
    const queryClient = createQueryClient();
    prefetchFirstScreen(queryClient, "/");
    const inbox = { mailboxId: fx.MAILBOX_ID, folder: "inbox" } as const;
    await waitFor(() => expect(queryClient.getQueryData(getThreadsListInfiniteQueryKey(threadListParams(inbox)))).toBeDefined());
    expect(paths().slice(0, 2).sort()).toEqual(["/api/v1.0/mailboxes/", "/api/v1.0/users/me/"]);
    expect(paths()).toContain(`/api/v1.0/threads/?mailbox=${fx.MAILBOX_ID}&view=inbox&page_size=50`);
    expect(paths()).toContain(`/api/v1.0/labels/?mailbox=${fx.MAILBOX_ID}`);
  });

  it("on a label's URL, asks for that label's list without waiting for the mailboxes", async () => {
    const queryClient = createQueryClient();
    prefetchFirstScreen(queryClient, `/mailboxes/${fx.SHARED_MAILBOX_ID}/labels/l1/threads/t1`);
    await waitFor(() => expect(paths()).toContain(`/api/v1.0/threads/?mailbox=${fx.SHARED_MAILBOX_ID}&label=l1&page_size=50`));
  });

  it("asks for nothing on the login page", async () => {
    prefetchFirstScreen(createQueryClient(), "/login");
    await new Promise((done) => setTimeout(done, 50));
    expect(requests).toEqual([]);
  });
});
