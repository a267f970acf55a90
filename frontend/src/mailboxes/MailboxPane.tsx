import { Fragment, useState } from "react";
import { useTranslation } from "react-i18next";
import { NavLink } from "react-router";

import { useLabelsList } from "../api/generated/endpoints/labels/labels";
import { useMailboxesList } from "../api/generated/endpoints/mailboxes/mailboxes";
import { POLL_MS } from "../api/queryClient";
import type { Mailbox } from "../api/generated/model";
import { FOLDERS, listPath, outboxPath } from "../app/paths";
import { usePlace } from "../app/usePlace";
import { MailboxSharingDialog } from "../sharing/MailboxSharingDialog";
import { canManageMailboxAccess } from "../sharing/roles";
import { safeColor } from "../ui/colors";
import { ErrorMessage, Loading } from "../ui/Status";
import { LabelManager } from "./LabelManager";
import { buildLabelTree, type LabelNode } from "./labelTree";

export function MailboxPane() {
  const { t } = useTranslation();
  // New mail shows up in the counts without a reload.
  const mailboxes = useMailboxesList({ query: { refetchInterval: POLL_MS } });
  const place = usePlace();

  if (mailboxes.isPending) return <Loading />;
  if (mailboxes.error) {
    return <ErrorMessage error={mailboxes.error} onRetry={() => void mailboxes.refetch()} />;
  }
  const personal = mailboxes.data.filter((mailbox) => mailbox.kind === "personal");
  const shared = mailboxes.data.filter((mailbox) => mailbox.kind !== "personal");
  if (mailboxes.data.length === 0) return <p className="empty">{t("mailboxes.none")}</p>;

  return (
    <>
      {[
        { key: "personal", title: t("mailboxes.personal"), items: personal },
        { key: "shared", title: t("mailboxes.shared"), items: shared },
      ]
        .filter((group) => group.items.length > 0)
        .map((group) => (
          <section key={group.key} aria-labelledby={`mailboxes-${group.key}`}>
            <h2 id={`mailboxes-${group.key}`} className="pane-heading">
              {group.title}
            </h2>
            <ul className="mailbox-list">
              {group.items.map((mailbox) => (
                <MailboxEntry key={mailbox.id} mailbox={mailbox} open={mailbox.id === place.mailboxId} />
              ))}
            </ul>
          </section>
        ))}
    </>
  );
}

function MailboxEntry({ mailbox, open }: { mailbox: Mailbox; open: boolean }) {
  const { t } = useTranslation();
  const name = mailbox.display_name || mailbox.address;
  return (
    <li className={open ? "mailbox open" : "mailbox"}>
      <NavLink
        to={listPath({ mailboxId: mailbox.id, folder: "inbox" })}
        className="mailbox-link"
        aria-current={open ? "true" : undefined}
        title={mailbox.address}
      >
        <span className="mailbox-name">{name}</span>
        {mailbox.unread_count > 0 && (
          <span className="count" aria-label={t("mailboxes.unread", { count: mailbox.unread_count })}>
            {mailbox.unread_count}
          </span>
        )}
      </NavLink>
      {open && <MailboxFolders mailbox={mailbox} />}
    </li>
  );
}

function MailboxFolders({ mailbox }: { mailbox: Mailbox }) {
  const { t } = useTranslation();
  const labels = useLabelsList({ mailbox: mailbox.id });
  const tree = labels.data ? buildLabelTree(labels.data) : [];
  const [sharing, setSharing] = useState(false);
  const [managing, setManaging] = useState(false);
  const canEditLabels = mailbox.role !== null && mailbox.role !== "viewer";
  return (
    <>
      <button
        type="button"
        className="link-button mailbox-sharing"
        aria-haspopup="dialog"
        onClick={() => setSharing(true)}
      >
        {canManageMailboxAccess(mailbox) ? t("sharing.manageMailbox") : t("sharing.whoHasAccess")}
      </button>
      {sharing && <MailboxSharingDialog mailbox={mailbox} onClose={() => setSharing(false)} />}
      <ul className="folder-list" aria-label={t("mailboxes.foldersOf", { name: mailbox.address })}>
        {FOLDERS.map((folder) => (
          <Fragment key={folder}>
            <li>
              <NavLink to={listPath({ mailboxId: mailbox.id, folder })} className="folder-link">
                {t(`folders.${folder}`)}
              </NavLink>
            </li>
            {folder === "sent" && (
              <li>
                <NavLink to={outboxPath(mailbox.id)} className="folder-link">
                  {t("folders.outbox")}
                </NavLink>
              </li>
            )}
          </Fragment>
        ))}
      </ul>
      <h3 className="pane-subheading" id={`labels-${mailbox.id}`}>
        {t("labels.heading")}
      </h3>
      {canEditLabels && (
        <button
          type="button"
          className="link-button manage-labels"
          aria-haspopup="dialog"
          onClick={() => setManaging(true)}
        >
          {t("labelManager.open")}
        </button>
      )}
      {managing && <LabelManager mailbox={mailbox} onClose={() => setManaging(false)} />}
      {labels.isPending && <Loading />}
      {labels.error && <ErrorMessage error={labels.error} onRetry={() => void labels.refetch()} />}
      {labels.data && tree.length === 0 && <p className="empty small">{t("labels.none")}</p>}
      {tree.length > 0 && (
        <ul className="label-tree" aria-labelledby={`labels-${mailbox.id}`}>
          {tree.map((node) => (
            <LabelBranch key={node.path} node={node} mailboxId={mailbox.id} />
          ))}
        </ul>
      )}
    </>
  );
}

function LabelBranch({ node, mailboxId }: { node: LabelNode; mailboxId: string }) {
  const color = safeColor(node.label?.color);
  return (
    <li>
      {node.label ? (
        <NavLink to={listPath({ mailboxId, labelId: node.label.id })} className="label-link" title={node.path}>
          <span className="swatch" style={{ backgroundColor: color }} aria-hidden="true" />
          {node.name}
        </NavLink>
      ) : (
        <span className="label-link label-parent" title={node.path}>
          {node.name}
        </span>
      )}
      {node.children.length > 0 && (
        <ul>
          {node.children.map((child) => (
            <LabelBranch key={child.path} node={child} mailboxId={mailboxId} />
          ))}
        </ul>
      )}
    </li>
  );
}
