import { useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { invalidateMail } from "../api/cache";
import { useFlagsUpdate } from "../api/generated/endpoints/flags/flags";
import { useLabelsList } from "../api/generated/endpoints/labels/labels";
import { useThreadsListInfinite } from "../api/generated/endpoints/threads/threads";
import type { Thread, ThreadsListParams } from "../api/generated/model";
import { POLL_MS } from "../api/queryClient";
import { threadPath, type ListPlace } from "../app/paths";
import { formatListDate, participantNames } from "../ui/format";
import { PaperclipIcon, StarIcon } from "../ui/icons";
import { LabelChip } from "../ui/LabelChip";
import { useDocumentTitle } from "../ui/useDocumentTitle";
import { ErrorMessage, Loading } from "../ui/Status";

export const PAGE_SIZE = 50;

export function threadListParams(place: ListPlace): ThreadsListParams {
  return place.labelId !== undefined
    ? { mailbox: place.mailboxId, label: place.labelId, page_size: PAGE_SIZE }
    : { mailbox: place.mailboxId, view: place.folder, page_size: PAGE_SIZE };
}

export function ThreadList({ place, selectedId }: { place: ListPlace; selectedId?: string }) {
  const { t } = useTranslation();
  const threads = useThreadsListInfinite(threadListParams(place), {
    query: {
      initialPageParam: undefined,
      // Keyset pagination: the server says where the next page starts.
      getNextPageParam: (page) => page.next_cursor ?? undefined,
      // New mail appears at the top: refetched pages follow the same cursors.
      refetchInterval: POLL_MS,
    },
  });
  const star = useStarToggle();
  // The same query as the mailbox pane's label tree: answered from the cache.
  const labels = useLabelsList({ mailbox: place.mailboxId }, { query: { enabled: place.labelId !== undefined } });
  const labelName = labels.data?.find((label) => label.id === place.labelId)?.name;
  const heading =
    place.labelId !== undefined ? (labelName ?? t("threads.labelHeading")) : t(`folders.${place.folder}`);
  useDocumentTitle(heading);

  if (threads.isPending) return <Loading />;
  if (threads.error && !threads.data) {
    return <ErrorMessage error={threads.error} onRetry={() => void threads.refetch()} />;
  }
  const rows = threads.data.pages.flatMap((page) => page.results);

  return (
    <>
      <h1 className="list-heading">{heading}</h1>
      {star.error && <ErrorMessage error={star.error} />}
      {rows.length === 0 ? (
        <p className="empty">
          {place.labelId !== undefined ? t("threads.empty.label") : t(`threads.empty.${place.folder}`)}
        </p>
      ) : (
        <ul className="thread-list" aria-label={heading}>
          {rows.map((thread) => (
            <ThreadRow
              key={thread.id}
              thread={thread}
              to={threadPath(place, thread.id)}
              selected={thread.id === selectedId}
              onStar={() => star.mutate(thread)}
            />
          ))}
        </ul>
      )}
      {threads.error && <ErrorMessage error={threads.error} onRetry={() => void threads.fetchNextPage()} />}
      {threads.hasNextPage && (
        <button
          type="button"
          className="load-more"
          onClick={() => void threads.fetchNextPage()}
          disabled={threads.isFetchingNextPage}
        >
          {threads.isFetchingNextPage ? t("common.loading") : t("threads.loadMore")}
        </button>
      )}
    </>
  );
}

function useStarToggle() {
  const queryClient = useQueryClient();
  const flags = useFlagsUpdate({ mutation: { onSettled: () => invalidateMail(queryClient) } });
  return {
    error: flags.error,
    mutate: (thread: Thread) =>
      flags.mutate({ data: { flag: "starred", value: !thread.is_starred, thread_ids: [thread.id] } }),
  };
}

function ThreadRow({
  thread,
  to,
  selected,
  onStar,
}: {
  thread: Thread;
  to: string;
  selected: boolean;
  onStar: () => void;
}) {
  const { t, i18n } = useTranslation();
  const unread = thread.unread_count > 0;
  const names = participantNames(thread.sender_names);
  const subject = thread.subject || t("thread.noSubject");
  const classes = ["thread-row", unread ? "unread" : "", selected ? "selected" : ""].filter(Boolean);
  return (
    <li className={classes.join(" ")}>
      <button
        type="button"
        className={thread.is_starred ? "star starred" : "star"}
        aria-pressed={thread.is_starred}
        aria-label={t("threads.star", { subject })}
        disabled={thread.role === "viewer"}
        onClick={onStar}
      >
        <StarIcon filled={thread.is_starred} />
      </button>
      <Link to={to} className="thread-link" aria-current={selected ? "page" : undefined}>
        <span className="participants">
          {unread && <span className="visually-hidden">{t("threads.unread")} </span>}
          {names.join(", ") || t("thread.unknownSender")}
          {thread.message_count > 1 && <span className="message-count"> ({thread.message_count})</span>}
        </span>
        <span className="subject-line">
          <span className="subject">{subject}</span>
          {thread.snippet && <span className="snippet"> — {thread.snippet}</span>}
        </span>
        <span className="chips">
          {thread.has_draft && <span className="chip draft-chip">{t("threads.draft")}</span>}
          {thread.has_attachments && (
            <span className="chip attachment-chip" title={t("threads.hasAttachments")}>
              <PaperclipIcon />
              <span className="visually-hidden">{t("threads.hasAttachments")}</span>
            </span>
          )}
          {thread.labels.map((label) => (
            <LabelChip key={label.id} name={label.name} color={label.color} />
          ))}
        </span>
        <time className="date" dateTime={thread.last_activity_at}>
          {formatListDate(thread.last_activity_at, i18n.language)}
        </time>
      </Link>
    </li>
  );
}
