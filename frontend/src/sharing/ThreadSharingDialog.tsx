// Which other mailboxes see a conversation, with which role; editors of the mailbox
// the conversation belongs to share it with another mailbox (by address) or stop.
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { invalidatePaths } from "../api/cache";
import { useMailboxesList } from "../api/generated/endpoints/mailboxes/mailboxes";
import {
  threadsAccessesCreate,
  threadsAccessesDestroy,
  threadsAccessesUpdate,
  useThreadsAccessesList,
} from "../api/generated/endpoints/threads/threads";
import type { Thread, ThreadRoleEnum } from "../api/generated/model";
import { useChange } from "../api/useChange";
import { Modal } from "../ui/Modal";
import { ErrorMessage, Loading } from "../ui/Status";
import { AccessRow } from "./AccessRow";
import { THREAD_ROLES, canShareThread } from "./roles";

export function ThreadSharingDialog({ thread, onClose }: { thread: Thread; onClose: () => void }) {
  const { t } = useTranslation();
  const accesses = useThreadsAccessesList(thread.id);
  const mailboxes = useMailboxesList();
  const owner = mailboxes.data?.find((mailbox) => mailbox.id === thread.mailbox);
  const canShare = canShareThread(thread, mailboxes.data ?? []);
  const actions = useChange((client) => invalidatePaths(client, `/api/v1.0/threads/${thread.id}/`));
  const [address, setAddress] = useState("");
  const [role, setRole] = useState<ThreadRoleEnum>("viewer");
  const roleLabel = (value: ThreadRoleEnum) => t(`sharing.threadRoles.${value}`);
  const subject = thread.subject || t("thread.noSubject");

  return (
    <Modal title={t("sharing.threadTitle", { subject })} className="sharing" onClose={onClose}>
      <p>{owner ? t("sharing.ownedBy", { address: owner.address }) : t("sharing.sharedWithYou")}</p>
      {!canShare && <p className="notice">{t("sharing.editorsOnly")}</p>}
      <h3 className="modal-subtitle" id={`thread-access-${thread.id}`}>
        {t("sharing.mailboxes")}
      </h3>
      {accesses.isPending && <Loading />}
      {accesses.error && <ErrorMessage error={accesses.error} onRetry={() => void accesses.refetch()} />}
      {accesses.data && accesses.data.length === 0 && <p className="empty small">{t("sharing.notShared")}</p>}
      {accesses.data && accesses.data.length > 0 && (
        <ul className="access-list" aria-labelledby={`thread-access-${thread.id}`}>
          {accesses.data.map((access) => (
            <AccessRow
              key={access.id}
              who={access.mailbox_address}
              role={access.role}
              roles={THREAD_ROLES}
              roleLabel={roleLabel}
              editable={canShare}
              busy={actions.busy}
              onRole={(next) => void actions.run(() => threadsAccessesUpdate(thread.id, access.id, { role: next }))}
              onRemove={() => void actions.run(() => threadsAccessesDestroy(thread.id, access.id))}
            />
          ))}
        </ul>
      )}
      {canShare && (
        <form
          className="access-add"
          aria-label={t("sharing.shareWith")}
          onSubmit={(event) => {
            event.preventDefault();
            void actions.run(
              () => threadsAccessesCreate(thread.id, { mailbox: address.trim(), role }),
              () => setAddress(""),
            );
          }}
        >
          <label>
            {t("sharing.mailboxAddress")}
            <input
              type="email"
              required
              data-autofocus
              value={address}
              onChange={(event) => setAddress(event.target.value)}
            />
          </label>
          <label>
            {t("sharing.role")}
            <select value={role} onChange={(event) => setRole(event.target.value as ThreadRoleEnum)}>
              {THREAD_ROLES.map((option) => (
                <option key={option} value={option}>
                  {roleLabel(option)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={actions.busy || !address.trim()}>
            {t("sharing.share")}
          </button>
        </form>
      )}
      {actions.error !== null && <ErrorMessage error={actions.error} />}
      <p className="modal-actions">
        <button type="button" onClick={onClose} data-autofocus={canShare ? undefined : true}>
          {t("sharing.close")}
        </button>
      </p>
    </Modal>
  );
}
