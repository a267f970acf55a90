import { useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { invalidateMail } from "../api/cache";
import { useFlagsUpdate } from "../api/generated/endpoints/flags/flags";
import { useLabelsList } from "../api/generated/endpoints/labels/labels";
import { useThreadsListInfinite } from "../api/generated/endpoints/threads/threads";
import type { SearchMatch, Thread, ThreadsListParams } from "../api/generated/model";
import { POLL_MS } from "../api/queryClient";
import { threadPath, type ListPlace } from "../app/paths";
import { formatListDate, participantNames } from "../ui/format";
import { PaperclipIcon, StarIcon } from "../ui/icons";
import { LabelChip } from "../ui/LabelChip";
import { useDocumentTitle } from "../ui/useDocumentTitle";
import { ThreadToolbar } from "./ThreadToolbar";
import { ErrorMessage, Loading } from "../ui/Status";
import { hasText, Highlighted } from "../search/Highlighted";
import { searchErrorMessage, shouldRetrySearch } from "../search/searchError";

export const PAGE_SIZE = 50;

export function threadListParams(place: ListPlace): ThreadsListParams {
  // A search has no view: the backend leaves out trash and spam unless the query says `in:`.
  if (place.search !== undefined) return { mailbox: place.mailboxId, search: place.search, page_size: PAGE_SIZE };
  return place.labelId !== undefined
    ? { mailbox: place.mailboxId, label: place.labelId, page_size: PAGE_SIZE }
    : { mailbox: place.mailboxId, view: place.folder, page_size: PAGE_SIZE };
}

/** The list's pages; the thread view and the shortcuts read the same cached query. */
export function useThreadPages(place: ListPlace, enabled = true) {
  const searching = place.search !== undefined;
  return useThreadsListInfinite(threadListParams(place), {
    query: {
      enabled,
      initialPageParam: undefined,
      // Keyset pagination: the server says where the next page starts.
      getNextPageParam: (page) => page.next_cursor ?? undefined,
      // New mail appears at the top: refetched pages follow the same cursors.
      // Results are a snapshot of one query (ranked pages by offset): not polled.
      refetchInterval: searching ? false : POLL_MS,
      ...(searching && { retry: shouldRetrySearch }),
    },
  });
}

/** The ids in list order, and the ones before and after a given one. */
export function useListOrder(place: ListPlace | undefined) {
  const threads = useThreadPages(place ?? { mailboxId: "", folder: "inbox" }, place !== undefined);
  const rows = place ? (threads.data?.pages.flatMap((page) => page.results) ?? []) : [];
  return {
    rows,
    neighbour: (id: string | undefined, step: 1 | -1): Thread | undefined => {
      const index = rows.findIndex((thread) => thread.id === id);
      if (index === -1) return step === 1 ? rows[0] : undefined;
      return rows[index + step];
    },
  };
}

export interface Selection {
  ids: Set<string>;
  set: (ids: Set<string>) => void;
}

export function ThreadList({
  place,
  selectedId,
  selection,
}: {
  place: ListPlace;
  selectedId?: string;
  selection: Selection;
}) {
  const { t } = useTranslation();
  const threads = useThreadPages(place);
  const star = useStarToggle();
  // The same query as the mailbox pane's label tree: answered from the cache.
  const labels = useLabelsList({ mailbox: place.mailboxId }, { query: { enabled: place.labelId !== undefined } });
  const labelName = labels.data?.find((label) => label.id === place.labelId)?.name;
  const searching = place.search !== undefined;
  const heading = searching
    ? t("search.heading", { query: place.search })
    : place.labelId !== undefined
      ? (labelName ?? t("threads.labelHeading"))
      : t(`folders.${place.folder}`);
  useDocumentTitle(heading);
  const describeError = searching ? searchErrorMessage : undefined;

  if (threads.isPending) return <Loading label={searching ? t("search.searching") : undefined} />;
  if (!threads.data) {
    // Not pending and no data: the first page failed.
    return (
      <>
        {searching && <h1 className="list-heading">{heading}</h1>}
        <ErrorMessage error={threads.error} describe={describeError} onRetry={() => void threads.refetch()} />
      </>
    );
  }
  const rows = threads.data.pages.flatMap((page) => page.results);
  const matches: Record<string, SearchMatch> = Object.assign({}, ...threads.data.pages.map((page) => page.matches));
  const chosen = rows.filter((thread) => selection.ids.has(thread.id));
  const toggle = (id: string) => {
    const next = new Set(selection.ids);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    selection.set(next);
  };

  return (
    <>
      <h1 className="list-heading">{heading}</h1>
      {searching && (
        <p className="search-count" role="status">
          {threads.hasNextPage
            ? t("search.countMore", { count: rows.length })
            : t("search.count", { count: rows.length })}
        </p>
      )}
      {rows.length > 0 && (
        <div className="bulk-bar">
          <input
            type="checkbox"
            aria-label={t("threads.selectAll")}
            checked={chosen.length > 0 && chosen.length === rows.length}
            ref={(input) => {
              if (input) input.indeterminate = chosen.length > 0 && chosen.length < rows.length;
            }}
            onChange={() => selection.set(chosen.length === rows.length ? new Set() : new Set(rows.map((r) => r.id)))}
          />
          {chosen.length > 0 && (
            <>
              <span className="selected-count" role="status">
                {t("threads.selected", { count: chosen.length })}
              </span>
              <ThreadToolbar
                threads={chosen}
                folder={place.folder}
                mailboxId={place.mailboxId}
                label={t("actions.bulkToolbar")}
                onRemoved={() => selection.set(new Set())}
              />
            </>
          )}
        </div>
      )}
      {star.error && <ErrorMessage error={star.error} />}
      {rows.length === 0 ? (
        <p className="empty">
          {searching
            ? t("search.empty", { query: place.search })
            : place.labelId !== undefined ? t("threads.empty.label") : t(`threads.empty.${place.folder}`)}
        </p>
      ) : (
        <ul className="thread-list" aria-label={heading}>
          {rows.map((thread) => (
            <ThreadRow
              key={thread.id}
              thread={thread}
              to={threadPath(place, thread.id)}
              selected={thread.id === selectedId}
              checked={selection.ids.has(thread.id)}
              onCheck={() => toggle(thread.id)}
              onStar={() => star.mutate(thread)}
              match={matches[thread.id]}
            />
          ))}
        </ul>
      )}
      {threads.error && (
        <ErrorMessage error={threads.error} describe={describeError} onRetry={() => void threads.fetchNextPage()} />
      )}
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
  checked,
  onCheck,
  onStar,
  match,
}: {
  thread: Thread;
  to: string;
  selected: boolean;
  checked: boolean;
  onCheck: () => void;
  onStar: () => void;
  /** Why it matched, in a search: the subject and snippet with the matching words marked. */
  match?: SearchMatch;
}) {
  const { t, i18n } = useTranslation();
  const unread = thread.unread_count > 0;
  const names = participantNames(thread.sender_names);
  const subject = thread.subject || t("thread.noSubject");
  const classes = ["thread-row", unread ? "unread" : "", selected ? "selected" : "", checked ? "checked" : ""].filter(
    Boolean,
  );
  return (
    <li className={classes.join(" ")} data-thread-id={thread.id}>
      <input
        type="checkbox"
        className="row-check"
        aria-label={t("threads.select", { subject })}
        checked={checked}
        onChange={onCheck}
      />
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
          <span className="subject">{hasText(match?.subject) ? <Highlighted segments={match.subject} /> : subject}</span>
          {hasText(match?.snippet) ? (
            <span className="snippet">
              {" — "}
              <Highlighted segments={match.snippet} />
            </span>
          ) : (
            thread.snippet && <span className="snippet"> — {thread.snippet}</span>
          )}
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
