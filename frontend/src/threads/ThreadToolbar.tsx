// Buttons acting on one conversation (the open one) or many (the ones ticked in the list).
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";

import { useQueryClient } from "@tanstack/react-query";

import { invalidatePaths } from "../api/cache";
import { labelsCreate, useLabelsList } from "../api/generated/endpoints/labels/labels";
import type { Thread } from "../api/generated/model";
import type { Folder } from "../app/paths";
import { safeColor } from "../ui/colors";
import { ErrorMessage } from "../ui/Status";
import { removesFromView, useThreadActions, type ThreadAction } from "./actions";

type ThreadActionWithoutIds = ThreadAction extends infer A ? (A extends ThreadAction ? Omit<A, "ids"> : never) : never;

export function ThreadToolbar({
  threads,
  folder,
  mailboxId,
  label,
  onRemoved,
  onMarkedUnread,
  children,
}: {
  threads: Thread[];
  folder: Folder | undefined;
  mailboxId: string;
  label: string;
  onRemoved?: () => void;
  /** The open thread marked unread: reading on would mark it read again. */
  onMarkedUnread?: () => void;
  /** More buttons, for the open conversation only. */
  children?: ReactNode;
}) {
  const { t } = useTranslation();
  const actions = useThreadActions();
  const ids = threads.map((thread) => thread.id);
  const readOnly = threads.some((thread) => thread.role === "viewer");
  const anyUnread = threads.some((thread) => thread.unread_count > 0);
  const allStarred = threads.length > 0 && threads.every((thread) => thread.is_starred);

  const run = (action: ThreadActionWithoutIds) => {
    const full = { ...action, ids } as ThreadAction;
    actions.mutate(full, {
      onSuccess: () => {
        if (removesFromView(full, folder)) onRemoved?.();
        else if (full.kind === "flag" && full.flag === "unread" && full.value) onMarkedUnread?.();
      },
    });
  };
  const flag = (name: "archived" | "trashed" | "spam" | "starred" | "unread", value: boolean) =>
    run({ kind: "flag", flag: name, value });

  return (
    <div className="thread-toolbar" role="toolbar" aria-label={label}>
      {folder === "archive" || folder === "trash" || folder === "spam" ? (
        <button
          type="button"
          disabled={readOnly}
          onClick={() =>
            flag(folder === "archive" ? "archived" : folder === "trash" ? "trashed" : "spam", false)
          }
        >
          {folder === "spam" ? t("actions.notSpam") : t("actions.moveToInbox")}
        </button>
      ) : (
        <button type="button" disabled={readOnly} onClick={() => flag("archived", true)}>
          {t("actions.archive")}
        </button>
      )}
      {folder !== "trash" && (
        <button type="button" disabled={readOnly} onClick={() => flag("trashed", true)}>
          {t("actions.trash")}
        </button>
      )}
      {folder !== "spam" && folder !== "trash" && (
        <button type="button" disabled={readOnly} onClick={() => flag("spam", true)}>
          {t("actions.spam")}
        </button>
      )}
      <button type="button" onClick={() => flag("unread", !anyUnread)}>
        {anyUnread ? t("actions.markRead") : t("actions.markUnread")}
      </button>
      <button type="button" disabled={readOnly} aria-pressed={allStarred} onClick={() => flag("starred", !allStarred)}>
        {allStarred ? t("actions.unstar") : t("actions.star")}
      </button>
      <LabelMenu
        threads={threads}
        mailboxId={mailboxId}
        disabled={readOnly}
        onToggle={(labelId, add) => run({ kind: "label", labelId, add })}
      />
      {children}
      {actions.error && <ErrorMessage error={actions.error} />}
    </div>
  );
}

function LabelMenu({
  threads,
  mailboxId,
  disabled,
  onToggle,
}: {
  threads: Thread[];
  mailboxId: string;
  disabled: boolean;
  onToggle: (labelId: string, add: boolean) => void;
}) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const labels = useLabelsList({ mailbox: mailboxId });
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [createError, setCreateError] = useState<unknown>(null);
  const create = async () => {
    if (!name.trim()) return;
    setCreateError(null);
    const existing = labels.data?.find((label) => label.name.toLowerCase() === name.trim().toLowerCase());
    if (existing) {
      // The name is taken: that label is the one meant.
      setName("");
      onToggle(existing.id, true);
      return;
    }
    try {
      const label = await labelsCreate({ mailbox: mailboxId, name: name.trim() });
      setName("");
      await invalidatePaths(queryClient, "/api/v1.0/labels/");
      onToggle(label.id, true);
    } catch (error) {
      setCreateError(error);
    }
  };

  useEffect(() => {
    if (open) panel.current?.querySelector<HTMLInputElement>("input")?.focus();
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };

  return (
    <div className="label-menu">
      <button
        ref={button}
        type="button"
        aria-expanded={open}
        aria-controls={panelId}
        disabled={disabled}
        onClick={() => setOpen(!open)}
      >
        {t("actions.labels")}
      </button>
      {open && (
        <div
          id={panelId}
          ref={panel}
          className="label-menu-panel"
          role="group"
          aria-label={t("actions.labelsOf")}
          onKeyDown={(event) => {
            if (event.key === "Escape") {
              event.stopPropagation();
              close();
            }
          }}
        >
          {(labels.data ?? []).length === 0 && <p className="empty small">{t("labels.none")}</p>}
          {(labels.data ?? []).map((label) => {
            const count = threads.filter((thread) => thread.labels.some((l) => l.id === label.id)).length;
            const all = count === threads.length && count > 0;
            return (
              <label key={label.id} className="label-option">
                <input
                  type="checkbox"
                  checked={all}
                  ref={(input) => {
                    if (input) input.indeterminate = count > 0 && !all;
                  }}
                  onChange={() => onToggle(label.id, !all)}
                />
                <span className="swatch" style={{ backgroundColor: safeColor(label.color) }} aria-hidden="true" />
                {label.name}
              </label>
            );
          })}
          <form
            className="new-label"
            onSubmit={(event) => {
              event.preventDefault();
              void create();
            }}
          >
            <input
              type="text"
              aria-label={t("actions.newLabel")}
              placeholder={t("actions.newLabel")}
              maxLength={255}
              value={name}
              onChange={(event) => setName(event.target.value)}
            />
            <button type="submit" disabled={!name.trim()}>
              {t("actions.createLabel")}
            </button>
          </form>
          {createError !== null && <ErrorMessage error={createError} />}
          <button type="button" onClick={close}>
            {t("actions.done")}
          </button>
        </div>
      )}
    </div>
  );
}
