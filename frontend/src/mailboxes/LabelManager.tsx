// Managing a mailbox's labels: create (at the top or inside another), rename (the full
// path: renaming a parent moves its children, as the API does), recolour, delete after
// a confirmation. The tree in the mailbox pane follows from the refetched list.
import type { QueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";

import { invalidateMail, invalidatePaths } from "../api/cache";
import { labelsCreate, labelsDestroy, labelsUpdate, useLabelsList } from "../api/generated/endpoints/labels/labels";
import type { Label, Mailbox } from "../api/generated/model";
import { useChange } from "../api/useChange";
import { listPath } from "../app/paths";
import { usePlace } from "../app/usePlace";
import { DEFAULT_LABEL_COLOR, safeColor } from "../ui/colors";
import { Modal } from "../ui/Modal";
import { ErrorMessage, Loading } from "../ui/Status";
import { nestedLabelName } from "./labelTree";

/** Labels show in the tree and as chips on the conversations: both are refetched. */
const refreshLabels = (client: QueryClient) =>
  Promise.all([invalidatePaths(client, "/api/v1.0/labels/"), invalidateMail(client)]);

export function LabelManager({ mailbox, onClose }: { mailbox: Mailbox; onClose: () => void }) {
  const { t } = useTranslation();
  const labels = useLabelsList({ mailbox: mailbox.id });
  const sorted = [...(labels.data ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <Modal title={t("labelManager.title", { address: mailbox.address })} className="label-manager" onClose={onClose}>
      <NewLabelForm mailboxId={mailbox.id} labels={sorted} />
      <h3 className="modal-subtitle" id={`label-rows-${mailbox.id}`}>
        {t("labels.heading")}
      </h3>
      {labels.isPending && <Loading />}
      {labels.error && <ErrorMessage error={labels.error} onRetry={() => void labels.refetch()} />}
      {labels.data && sorted.length === 0 && <p className="empty small">{t("labels.none")}</p>}
      {sorted.length > 0 && (
        <ul className="label-rows" aria-labelledby={`label-rows-${mailbox.id}`}>
          {sorted.map((label) => (
            <LabelRow key={`${label.id}-${label.name}-${label.color}`} label={label} />
          ))}
        </ul>
      )}
      <p className="modal-actions">
        <button type="button" onClick={onClose}>
          {t("sharing.close")}
        </button>
      </p>
    </Modal>
  );
}

function NewLabelForm({ mailboxId, labels }: { mailboxId: string; labels: Label[] }) {
  const { t } = useTranslation();
  const change = useChange(refreshLabels);
  const [name, setName] = useState("");
  const [parent, setParent] = useState("");
  const [color, setColor] = useState(DEFAULT_LABEL_COLOR);
  return (
    <>
      <form
        className="label-add"
        aria-label={t("labelManager.create")}
        onSubmit={(event) => {
          event.preventDefault();
          void change.run(
            () => labelsCreate({ mailbox: mailboxId, name: nestedLabelName(parent, name), color }),
            () => setName(""),
          );
        }}
      >
        <label>
          {t("labelManager.name")}
          <input
            type="text"
            required
            maxLength={255}
            data-autofocus
            value={name}
            onChange={(event) => setName(event.target.value)}
          />
        </label>
        <label>
          {t("labelManager.inside")}
          <select value={parent} onChange={(event) => setParent(event.target.value)}>
            <option value="">{t("labelManager.topLevel")}</option>
            {labels.map((label) => (
              <option key={label.id} value={label.name}>
                {label.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("labelManager.color")}
          <input type="color" value={color} onChange={(event) => setColor(event.target.value)} />
        </label>
        <button type="submit" disabled={change.busy || !name.trim()}>
          {t("labelManager.createButton")}
        </button>
      </form>
      {change.error !== null && <ErrorMessage error={change.error} />}
    </>
  );
}

function LabelRow({ label }: { label: Label }) {
  const { t } = useTranslation();
  const change = useChange(refreshLabels);
  const place = usePlace();
  const navigate = useNavigate();
  const [name, setName] = useState(label.name);
  const [color, setColor] = useState(safeColor(label.color));
  const [confirming, setConfirming] = useState(false);
  const changed = name.trim() !== label.name || color !== safeColor(label.color);

  const remove = async () => {
    const done = await change.run(() => labelsDestroy(label.id));
    // The label on screen is gone: back to the inbox rather than a 404.
    if (done && place.labelId === label.id && place.mailboxId) {
      void navigate(listPath({ mailboxId: place.mailboxId, folder: "inbox" }));
    }
  };

  return (
    <li className="label-row">
      <form
        className="label-row-form"
        aria-label={label.name}
        onSubmit={(event) => {
          event.preventDefault();
          const fields = {
            ...(name.trim() !== label.name && { name: name.trim() }),
            ...(color !== safeColor(label.color) && { color }),
          };
          void change.run(() => labelsUpdate(label.id, fields));
        }}
      >
        <input
          type="color"
          aria-label={t("labelManager.colorOf", { name: label.name })}
          value={color}
          onChange={(event) => setColor(event.target.value)}
        />
        <input
          type="text"
          className="label-row-name"
          aria-label={t("labelManager.nameOf", { name: label.name })}
          maxLength={255}
          required
          value={name}
          onChange={(event) => setName(event.target.value)}
        />
        <button type="submit" disabled={change.busy || !changed || !name.trim()}>
          {t("labelManager.save")}
        </button>
        <button
          type="button"
          disabled={change.busy}
          aria-label={t("labelManager.deleteWho", { name: label.name })}
          onClick={() => setConfirming(true)}
        >
          {t("labelManager.delete")}
        </button>
      </form>
      {confirming && (
        <ConfirmDelete
          name={label.name}
          busy={change.busy}
          onConfirm={() => void remove()}
          onCancel={() => setConfirming(false)}
        />
      )}
      {change.error !== null && <ErrorMessage error={change.error} />}
    </li>
  );
}

/** "Delete this label?": the focus goes to Keep, the safe answer. */
function ConfirmDelete({
  name,
  busy,
  onConfirm,
  onCancel,
}: {
  name: string;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const keep = useRef<HTMLButtonElement>(null);
  useEffect(() => keep.current?.focus(), []);
  return (
    <div className="confirm" role="group" aria-label={t("labelManager.confirmLabel", { name })}>
      <span>{t("labelManager.confirm", { name })}</span>
      <button type="button" disabled={busy} onClick={onConfirm}>
        {t("labelManager.confirmDelete")}
      </button>
      <button type="button" ref={keep} onClick={onCancel}>
        {t("labelManager.keep")}
      </button>
    </div>
  );
}
