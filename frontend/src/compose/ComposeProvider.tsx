// One compose window for the whole app (it stays open while one reads other mail), and
// the "Sent — Undo" bar that follows a send until its time comes.
import { useQueryClient } from "@tanstack/react-query";
import {
  createContext,
  lazy,
  Suspense,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from "react";
import { useTranslation } from "react-i18next";

import { invalidateMail } from "../api/cache";
import { useMailboxesList } from "../api/generated/endpoints/mailboxes/mailboxes";
import { messagesCancelSend } from "../api/generated/endpoints/messages/messages";
import type { Mailbox, Message } from "../api/generated/model";
import { usePlace } from "../app/usePlace";
import { useCurrentUser } from "../auth/RequireAuth";
import { formatFullDate, personLabel } from "../ui/format";
import { ErrorMessage, Loading } from "../ui/Status";
import { readBackup } from "./backup";
import {
  blankCompose,
  draftCompose,
  forwardCompose,
  replyCompose,
  sendableMailboxes,
  type ComposeState,
  type QuoteWords,
} from "./model";

export interface ComposeApi {
  compose: () => void;
  reply: (message: Message, all: boolean) => void;
  forward: (message: Message) => void;
  editDraft: (draft: Message) => void;
  isOpen: boolean;
}

// The editor (TipTap, ProseMirror) is most of the compose code: a chunk of its own, out
// of the first load, fetched once the page is idle so that "Compose" opens at once.
const loadComposeWindow = () => import("./ComposeWindow");
const ComposeWindow = lazy(loadComposeWindow);

/** While the chunk arrives: the focus is held here, so keys typed are not shortcuts. */
function ComposeLoading() {
  const { t } = useTranslation();
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.focus(), []);
  return (
    <div ref={box} className="compose compose-loading" role="dialog" aria-busy="true" aria-label={t("common.loading")} tabIndex={-1}>
      <Loading />
    </div>
  );
}

const ComposeContext = createContext<ComposeApi | null>(null);

export function useCompose(): ComposeApi {
  const api = useContext(ComposeContext);
  if (!api) throw new Error("useCompose outside ComposeProvider");
  return api;
}

interface Pending {
  message: Message;
  scheduled: boolean;
}

function defaultMailbox(mailboxes: Mailbox[], current: string | undefined): string {
  const senders = sendableMailboxes(mailboxes);
  return (
    senders.find((mailbox) => mailbox.id === current)?.id ??
    senders.find((mailbox) => mailbox.kind === "personal")?.id ??
    senders[0]?.id ??
    current ??
    mailboxes[0]?.id ??
    ""
  );
}

export function ComposeProvider({ children }: { children: ReactNode }) {
  const { t, i18n } = useTranslation();
  const user = useCurrentUser();
  const place = usePlace();
  const queryClient = useQueryClient();
  const mailboxes = useMailboxesList();
  const list = useMemo(() => mailboxes.data ?? [], [mailboxes.data]);
  // A message written during an earlier visit that the server never got comes back.
  const [open, setOpen] = useState<{ state: ComposeState; restored: boolean } | null>(() => {
    const backup = readBackup(user.id);
    return backup ? { state: backup.state, restored: true } : null;
  });
  const [pending, setPending] = useState<Pending | null>(null);
  // What had the focus when the window opened gets it back when it closes.
  const opener = useRef<HTMLElement | null>(null);
  const show = useCallback((state: ComposeState) => {
    if (!document.activeElement?.closest(".compose")) {
      opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    }
    setOpen({ state, restored: false });
  }, []);
  const hide = useCallback(() => {
    setOpen(null);
    const target = opener.current;
    setTimeout(() => {
      if (target?.isConnected) target.focus();
    });
  }, []);
  useEffect(() => {
    const timer = setTimeout(() => void loadComposeWindow().catch(() => undefined), 1500);
    return () => clearTimeout(timer);
  }, []);

  const words = useCallback(
    (message: Message): QuoteWords => {
      const date = formatFullDate(message.sent_at ?? message.received_at, i18n.language);
      const people = (kind: string) =>
        message.recipients
          .filter((recipient) => recipient.kind === kind)
          .map(personLabel)
          .join(", ");
      return {
        wrote: t("compose.quoteWrote", { date, sender: personLabel(message.sender) }),
        forwardHeader: [
          t("compose.forwardedMessage"),
          `${t("thread.from")}: ${personLabel(message.sender)}`,
          `${t("thread.date")}: ${date}`,
          `${t("compose.subject")}: ${message.subject}`,
          `${t("thread.recipients.to")}: ${people("to")}`,
          ...(people("cc") ? [`${t("thread.recipients.cc")}: ${people("cc")}`] : []),
        ].join("\n"),
      };
    },
    [t, i18n.language],
  );

  const api = useMemo<ComposeApi>(
    () => ({
      isOpen: open !== null,
      compose: () => show(blankCompose(defaultMailbox(list, place.mailboxId))),
      reply: (message, all) =>
        show(replyCompose(message, list.find((m) => m.id === message.mailbox), all, words(message))),
      forward: (message) => show(forwardCompose(message, words(message))),
      editDraft: (draft) => show(draftCompose(draft)),
    }),
    [open, list, place.mailboxId, words, show],
  );

  return (
    <ComposeContext.Provider value={api}>
      {children}
      {open && (
        <Suspense fallback={<ComposeLoading />}>
          <ComposeWindow
            key={open.state.localId}
            initial={open.state}
            restored={open.restored}
            userId={user.id}
            mailboxes={list}
            onClose={() => {
              hide();
              void invalidateMail(queryClient);
            }}
            onSent={(message, scheduled) => {
              hide();
              setPending({ message, scheduled });
              void invalidateMail(queryClient);
            }}
          />
        </Suspense>
      )}
      {pending && (
        <SentBar
          key={pending.message.id}
          pending={pending}
          onDone={() => setPending(null)}
          onUndone={(draft) => {
            setPending(null);
            show(draftCompose(draft));
            void invalidateMail(queryClient);
          }}
        />
      )}
    </ComposeContext.Provider>
  );
}

/** "Sending…" with Undo until send_at (the undo window), or "Scheduled for …" with Cancel. */
function SentBar({
  pending,
  onDone,
  onUndone,
}: {
  pending: Pending;
  onDone: () => void;
  onUndone: (draft: Message) => void;
}) {
  const { t, i18n } = useTranslation();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const sendAt = pending.message.send_at ? new Date(pending.message.send_at).getTime() : Date.now();
  useEffect(() => {
    // The undo button goes when the message leaves; a scheduled one stays a few seconds.
    const wait = pending.scheduled ? 10_000 : Math.max(0, sendAt - Date.now());
    const timer = setTimeout(onDone, Math.min(wait, 2_147_000_000));
    return () => clearTimeout(timer);
  }, [sendAt, pending.scheduled, onDone]);
  const undo = async () => {
    setBusy(true);
    try {
      onUndone(await messagesCancelSend(pending.message.id));
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  return (
    <div className="sent-bar" role="status">
      <span>
        {pending.scheduled
          ? t("compose.scheduledFor", { date: formatFullDate(pending.message.send_at, i18n.language) })
          : t("compose.sent")}
      </span>
      <button type="button" onClick={() => void undo()} disabled={busy}>
        {pending.scheduled ? t("compose.cancelScheduled") : t("compose.undo")}
      </button>
      <button type="button" aria-label={t("compose.dismiss")} onClick={onDone}>
        ×
      </button>
      {error !== null && <ErrorMessage error={error} />}
    </div>
  );
}
