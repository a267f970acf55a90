import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";

import { invalidateMail } from "../api/cache";
import { useFlagsUpdate } from "../api/generated/endpoints/flags/flags";
import { useThreadsMessagesList, useThreadsRetrieve } from "../api/generated/endpoints/threads/threads";
import { listPath } from "../app/paths";
import { usePlace } from "../app/usePlace";
import { ThreadSharingDialog } from "../sharing/ThreadSharingDialog";
import { LabelChip } from "../ui/LabelChip";
import { useDocumentTitle } from "../ui/useDocumentTitle";
import { ErrorMessage, Loading } from "../ui/Status";
import { ThreadToolbar } from "../threads/ThreadToolbar";
import { useLeaveThread } from "../threads/useLeaveThread";
import { MessageItem } from "./MessageItem";

export function ThreadView() {
  const { t } = useTranslation();
  const { threadId = "" } = useParams();
  const place = usePlace();
  const thread = useThreadsRetrieve(threadId);
  const messages = useThreadsMessagesList(threadId);
  const heading = useRef<HTMLHeadingElement>(null);
  const leave = useLeaveThread(place);
  const navigate = useNavigate();
  const [sharing, setSharing] = useState(false);
  useMarkRead(threadId, thread.data?.unread_count ?? 0);
  useDocumentTitle(thread.data ? thread.data.subject || t("thread.noSubject") : null);

  const openedId = thread.data?.id;
  useEffect(() => {
    // Opening a thread moves the focus to it, as a page change would.
    if (openedId) heading.current?.focus();
  }, [openedId]);

  if (thread.isPending || messages.isPending) return <Loading />;
  const error = thread.error ?? messages.error;
  if (error) {
    return (
      <ErrorMessage
        error={error}
        onRetry={() => {
          void thread.refetch();
          void messages.refetch();
        }}
      />
    );
  }
  const list = messages.data ?? [];
  const last = list.length - 1;
  return (
    <article className="thread" aria-labelledby="thread-subject">
      {place.list && (
        <Link className="back-link" to={listPath(place.list)}>
          {t("thread.back")}
        </Link>
      )}
      <h2 id="thread-subject" ref={heading} tabIndex={-1}>
        {thread.data?.subject || t("thread.noSubject")}
      </h2>
      {thread.data && place.mailboxId && (
        <ThreadToolbar
          threads={[thread.data]}
          folder={place.folder}
          mailboxId={place.mailboxId}
          label={t("actions.threadToolbar")}
          onRemoved={leave}
          onMarkedUnread={() => place.list && void navigate(listPath(place.list))}
        >
          <button type="button" aria-haspopup="dialog" onClick={() => setSharing(true)}>
            {t("sharing.shareThread")}
          </button>
        </ThreadToolbar>
      )}
      {sharing && thread.data && <ThreadSharingDialog thread={thread.data} onClose={() => setSharing(false)} />}
      {thread.data && thread.data.labels.length > 0 && (
        <p className="chips">
          {thread.data.labels.map((label) => (
            <LabelChip key={label.id} name={label.name} color={label.color} />
          ))}
        </p>
      )}
      <ol className="messages">
        {list.map((message, index) => (
          <MessageItem key={message.id} message={message} initiallyOpen={index === last || message.is_unread} />
        ))}
      </ol>
    </article>
  );
}

/** Reading a thread marks it read (for this user only), once per opening. */
function useMarkRead(threadId: string, unreadCount: number) {
  const queryClient = useQueryClient();
  const done = useRef<string | null>(null);
  const flags = useFlagsUpdate({ mutation: { onSuccess: () => invalidateMail(queryClient) } });
  const { mutate } = flags;
  useEffect(() => {
    if (unreadCount > 0 && done.current !== threadId) {
      done.current = threadId;
      mutate({ data: { flag: "unread", value: false, thread_ids: [threadId] } });
    }
  }, [threadId, unreadCount, mutate]);
}
