// The compose window: From, To/Cc/Bcc, subject, the rich body, attachments; saved as a
// draft while it is written; sent now (after the undo window) or at a chosen time.
import { useId, useRef, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";

import { draftsDestroy, draftsSend } from "../api/generated/endpoints/drafts/drafts";
import type { Mailbox, Message } from "../api/generated/model";
import { ApiError } from "../api/http";
import { formatSize } from "../ui/format";
import { ErrorMessage } from "../ui/Status";
import { clearBackup } from "./backup";
import { sendableMailboxes, type ComposeFields, type ComposeState, type DraftAttachment } from "./model";
import { RecipientField } from "./RecipientField";
import { RichEditor, type BodyValue } from "./RichEditor";
import { uploadFile, type UploadHandle } from "./upload";
import { useDraftAutosave, type SaveStatus } from "./useDraftAutosave";

interface Uploading {
  key: string;
  name: string;
  size: number;
  progress: number;
  error: unknown;
  handle: UploadHandle | null;
}

/** The earliest a scheduled send may be set to, as a datetime-local value. */
function localInputValue(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export default function ComposeWindow({
  initial,
  userId,
  mailboxes,
  restored,
  onClose,
  onSent,
}: {
  initial: ComposeState;
  userId: string;
  mailboxes: Mailbox[];
  restored: boolean;
  onClose: () => void;
  onSent: (message: Message, scheduled: boolean) => void;
}) {
  const { t, i18n } = useTranslation();
  const titleId = useId();
  const [state, setState] = useState(initial);
  const [showCopies, setShowCopies] = useState(initial.fields.cc.length + initial.fields.bcc.length > 0);
  const [scheduling, setScheduling] = useState(false);
  const [sendAt, setSendAt] = useState("");
  const [busy, setBusy] = useState<"sending" | "closing" | "discarding" | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [uploads, setUploads] = useState<Uploading[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);
  const stateRef = useRef(initial);
  const autosave = useDraftAutosave(userId, initial, (draftId) => {
    stateRef.current = { ...stateRef.current, draftId };
    setState(stateRef.current);
  });

  const update = (patch: Partial<ComposeFields>) => {
    const next = { ...stateRef.current, fields: { ...stateRef.current.fields, ...patch } };
    stateRef.current = next;
    setState(next);
    autosave.changed(next);
  };
  const bodyReady = ({ html, text }: BodyValue) => {
    stateRef.current = { ...stateRef.current, fields: { ...stateRef.current.fields, html, text } };
    setState(stateRef.current);
  };

  const senders = sendableMailboxes(mailboxes);
  const fields = state.fields;
  const uploading = uploads.some((upload) => upload.handle && !upload.error);
  const title =
    state.mode === "reply" || state.mode === "replyAll"
      ? t("compose.titleReply")
      : state.mode === "forward"
        ? t("compose.titleForward")
        : t("compose.titleNew");

  const addFiles = (files: FileList | null) => {
    for (const file of Array.from(files ?? [])) {
      const key = `${file.name}-${Date.now()}-${Math.random()}`;
      const handle = uploadFile(fields.mailboxId, file, (progress) =>
        setUploads((list) => list.map((u) => (u.key === key ? { ...u, progress } : u))),
      );
      setUploads((list) => [...list, { key, name: file.name, size: file.size, progress: 0, error: null, handle }]);
      handle.promise.then(
        (upload) => {
          setUploads((list) => list.filter((u) => u.key !== key));
          const attachment: DraftAttachment = { blob: upload.blob, filename: upload.filename, size: upload.size };
          update({ attachments: [...stateRef.current.fields.attachments, attachment] });
        },
        (error: unknown) => {
          if (error instanceof DOMException && error.name === "AbortError") {
            setUploads((list) => list.filter((u) => u.key !== key));
          } else {
            setUploads((list) => list.map((u) => (u.key === key ? { ...u, error, handle: null } : u)));
          }
        },
      );
    }
    if (fileInput.current) fileInput.current.value = "";
  };

  const send = async () => {
    setActionError(null);
    const when = scheduling && sendAt ? new Date(sendAt) : null;
    if (scheduling && (!when || Number.isNaN(when.getTime()) || when.getTime() <= Date.now())) {
      setActionError(new Error("schedule"));
      return;
    }
    if (fields.to.length + fields.cc.length + fields.bcc.length === 0) {
      setActionError(new Error("recipients"));
      return;
    }
    setBusy("sending");
    try {
      const draftId = await autosave.flush();
      const sent = await draftsSend(draftId, when ? { send_at: when.toISOString() } : {});
      clearBackup(userId, initial.localId);
      onSent(sent, when !== null);
    } catch (error) {
      setActionError(error);
      setBusy(null);
    }
  };

  const close = async () => {
    setActionError(null);
    setBusy("closing");
    try {
      // Nothing typed and never saved: nothing to keep.
      if (state.draftId || autosave.status !== "idle") await autosave.flush();
      clearBackup(userId, initial.localId);
      onClose();
    } catch (error) {
      // The server does not have it: the window stays open (and the local copy stays).
      setActionError(error);
      setBusy(null);
    }
  };

  const discard = async () => {
    setActionError(null);
    setBusy("discarding");
    autosave.pause(true);
    try {
      const draftId = stateRef.current.draftId;
      if (draftId) {
        await draftsDestroy(draftId).catch((error: unknown) => {
          // Already gone (deleted or sent elsewhere): there is nothing left to discard.
          if (!(error instanceof ApiError && (error.status === 404 || error.status === 400))) throw error;
        });
      }
      clearBackup(userId, initial.localId);
      onClose();
    } catch (error) {
      autosave.pause(false);
      setActionError(error);
      setBusy(null);
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLElement>) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (!busy && !uploading) void send();
    } else if (event.key === "Escape") {
      event.preventDefault();
      if (!busy) void close();
    }
  };

  return (
    <section className="compose" role="dialog" aria-modal="false" aria-labelledby={titleId} onKeyDown={onKeyDown}>
      <div className="compose-header">
        <h2 id={titleId}>{title}</h2>
        <SaveState status={autosave.status} />
        <button type="button" className="compose-close" onClick={() => void close()} disabled={busy !== null}>
          {t("compose.close")}
        </button>
      </div>
      {restored && (
        <p className="notice" role="note">
          {t("compose.restored")}
        </p>
      )}
      <form
        className="compose-form"
        onSubmit={(event) => {
          event.preventDefault();
          void send();
        }}
      >
        <div className="compose-row">
          <label htmlFor={`${titleId}-from`}>{t("compose.from")}</label>
          <select
            id={`${titleId}-from`}
            value={fields.mailboxId}
            disabled={state.draftId !== null || state.inReplyTo !== null}
            onChange={(event) => update({ mailboxId: event.target.value })}
          >
            {(senders.some((m) => m.id === fields.mailboxId)
              ? senders
              : [...mailboxes.filter((m) => m.id === fields.mailboxId), ...senders]
            ).map((mailbox) => (
              <option key={mailbox.id} value={mailbox.id}>
                {mailbox.display_name ? `${mailbox.display_name} <${mailbox.address}>` : mailbox.address}
              </option>
            ))}
          </select>
        </div>
        <RecipientField
          label={t("compose.to")}
          people={fields.to}
          mailboxId={fields.mailboxId}
          onChange={(to) => update({ to })}
          autoFocus={state.mode === "new" || state.mode === "forward"}
        />
        {showCopies ? (
          <>
            <RecipientField
              label={t("compose.cc")}
              people={fields.cc}
              mailboxId={fields.mailboxId}
              onChange={(cc) => update({ cc })}
            />
            <RecipientField
              label={t("compose.bcc")}
              people={fields.bcc}
              mailboxId={fields.mailboxId}
              onChange={(bcc) => update({ bcc })}
            />
          </>
        ) : (
          <button type="button" className="link-button" onClick={() => setShowCopies(true)}>
            {t("compose.showCopies")}
          </button>
        )}
        <div className="compose-row">
          <label htmlFor={`${titleId}-subject`}>{t("compose.subject")}</label>
          <input
            id={`${titleId}-subject`}
            type="text"
            value={fields.subject}
            maxLength={998}
            onChange={(event) => update({ subject: event.target.value })}
          />
        </div>
        <RichEditor
          initialHtml={initial.fields.html}
          label={t("compose.body")}
          autoFocus={state.mode === "reply" || state.mode === "replyAll"}
          onReady={bodyReady}
          onChange={({ html, text }) => update({ html, text })}
        />
        {(fields.attachments.length > 0 || uploads.length > 0) && (
          <ul className="compose-attachments" aria-label={t("compose.attachments")}>
            {fields.attachments.map((attachment) => (
              <li key={attachment.blob}>
                <span>{attachment.filename || t("thread.unnamedAttachment")}</span>{" "}
                <span className="size">{formatSize(attachment.size, i18n.language)}</span>
                <button
                  type="button"
                  aria-label={t("compose.removeAttachment", { name: attachment.filename })}
                  onClick={() =>
                    update({ attachments: fields.attachments.filter((other) => other.blob !== attachment.blob) })
                  }
                >
                  ×
                </button>
              </li>
            ))}
            {uploads.map((upload) => (
              <li key={upload.key}>
                <span>{upload.name}</span>{" "}
                {upload.error ? (
                  <ErrorMessage error={upload.error} />
                ) : (
                  <progress
                    max={1}
                    value={upload.progress}
                    aria-label={t("compose.uploading", { name: upload.name })}
                  />
                )}
                <button
                  type="button"
                  aria-label={t("compose.cancelUpload", { name: upload.name })}
                  onClick={() =>
                    upload.handle
                      ? upload.handle.abort()
                      : setUploads((list) => list.filter((u) => u.key !== upload.key))
                  }
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
        {actionError !== null && <ComposeError error={actionError} />}
        {autosave.status === "failed" && actionError === null && (
          <ErrorMessage error={autosave.error} onRetry={() => void autosave.flush().catch(() => undefined)} />
        )}
        {scheduling && (
          <div className="compose-row">
            <label htmlFor={`${titleId}-when`}>{t("compose.sendAt")}</label>
            <input
              id={`${titleId}-when`}
              type="datetime-local"
              min={localInputValue(new Date())}
              value={sendAt}
              onChange={(event) => setSendAt(event.target.value)}
            />
          </div>
        )}
        <div className="compose-actions">
          <button type="submit" className="primary" disabled={busy !== null || uploading}>
            {busy === "sending" ? t("compose.sending") : scheduling ? t("compose.schedule") : t("compose.send")}
          </button>
          <button type="button" aria-pressed={scheduling} onClick={() => setScheduling(!scheduling)}>
            {t("compose.scheduleToggle")}
          </button>
          <label className="file-button">
            {t("compose.attach")}
            <input
              ref={fileInput}
              type="file"
              multiple
              className="visually-hidden"
              onChange={(event) => addFiles(event.target.files)}
            />
          </label>
          <button type="button" className="danger" onClick={() => void discard()} disabled={busy !== null}>
            {t("compose.discard")}
          </button>
        </div>
      </form>
    </section>
  );
}

function SaveState({ status }: { status: SaveStatus }) {
  const { t } = useTranslation();
  if (status === "idle") return null;
  return (
    <span className={`save-state save-${status}`} role="status">
      {t(`compose.saveStatus.${status}`)}
    </span>
  );
}

function ComposeError({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (error instanceof Error && error.message === "schedule") {
    return (
      <p className="error" role="alert">
        {t("compose.badSchedule")}
      </p>
    );
  }
  if (error instanceof Error && error.message === "recipients") {
    return (
      <p className="error" role="alert">
        {t("compose.noRecipients")}
      </p>
    );
  }
  return <ErrorMessage error={error} />;
}
