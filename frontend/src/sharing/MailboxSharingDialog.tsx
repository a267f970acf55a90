// Who has access to a mailbox, with which role; its admins add, change and remove
// accesses. A mailbox the Kubernetes operator manages is read-only here.
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { invalidatePaths } from "../api/cache";
import {
  mailboxesAccessesCreate,
  mailboxesAccessesDestroy,
  mailboxesAccessesUpdate,
  useMailboxesAccessesList,
} from "../api/generated/endpoints/mailboxes/mailboxes";
import type { Mailbox, MailboxRoleEnum } from "../api/generated/model";
import { useChange } from "../api/useChange";
import { Modal } from "../ui/Modal";
import { ErrorMessage, Loading } from "../ui/Status";
import { AccessRow } from "./AccessRow";
import { MAILBOX_ROLES, canManageMailboxAccess } from "./roles";

export function MailboxSharingDialog({ mailbox, onClose }: { mailbox: Mailbox; onClose: () => void }) {
  const { t } = useTranslation();
  const accesses = useMailboxesAccessesList(mailbox.id);
  const canManage = canManageMailboxAccess(mailbox);
  // The caller's own role comes with the mailbox list: refresh it too.
  const actions = useChange((client) => invalidatePaths(client, "/api/v1.0/mailboxes/"));
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<MailboxRoleEnum>("viewer");
  const roleLabel = (value: MailboxRoleEnum) => t(`sharing.mailboxRoles.${value}`);

  return (
    <Modal title={t("sharing.mailboxTitle", { address: mailbox.address })} className="sharing" onClose={onClose}>
      {mailbox.managed ? (
        <p className="notice">{t("sharing.managed")}</p>
      ) : (
        !canManage && <p className="notice">{t("sharing.adminsOnly")}</p>
      )}
      <h3 className="modal-subtitle" id={`access-${mailbox.id}`}>
        {t("sharing.people")}
      </h3>
      {accesses.isPending && <Loading />}
      {accesses.error && <ErrorMessage error={accesses.error} onRetry={() => void accesses.refetch()} />}
      {accesses.data && (
        <ul className="access-list" aria-labelledby={`access-${mailbox.id}`}>
          {accesses.data.map((access) => (
            <AccessRow
              key={access.id}
              who={access.user_name || access.user_email}
              detail={access.user_name ? access.user_email : undefined}
              role={access.role}
              roles={MAILBOX_ROLES}
              roleLabel={roleLabel}
              editable={canManage}
              busy={actions.busy}
              onRole={(next) =>
                void actions.run(() => mailboxesAccessesUpdate(mailbox.id, access.id, { role: next }))
              }
              onRemove={() => void actions.run(() => mailboxesAccessesDestroy(mailbox.id, access.id))}
            />
          ))}
        </ul>
      )}
      {canManage && (
        <form
          className="access-add"
          aria-label={t("sharing.addPerson")}
          onSubmit={(event) => {
            event.preventDefault();
            void actions.run(
              () => mailboxesAccessesCreate(mailbox.id, { user: email.trim(), role }),
              () => setEmail(""),
            );
          }}
        >
          <label>
            {t("sharing.personEmail")}
            <input
              type="email"
              required
              data-autofocus
              value={email}
              onChange={(event) => setEmail(event.target.value)}
            />
          </label>
          <label>
            {t("sharing.role")}
            <select value={role} onChange={(event) => setRole(event.target.value as MailboxRoleEnum)}>
              {MAILBOX_ROLES.map((option) => (
                <option key={option} value={option}>
                  {roleLabel(option)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={actions.busy || !email.trim()}>
            {t("sharing.add")}
          </button>
        </form>
      )}
      {actions.error !== null && <ErrorMessage error={actions.error} />}
      <p className="modal-actions">
        <button type="button" onClick={onClose} data-autofocus={canManage ? undefined : true}>
          {t("sharing.close")}
        </button>
      </p>
    </Modal>
  );
}
