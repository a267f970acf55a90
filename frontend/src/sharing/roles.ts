// Who may change what, as the API decides it (domains/apis.py, mail/apis.py), so the
// webmail offers only what will be accepted; the API still checks every request.
import type { Mailbox, MailboxRoleEnum, Thread, ThreadRoleEnum } from "../api/generated/model";

export const MAILBOX_ROLES = ["viewer", "editor", "sender", "admin"] as const satisfies readonly MailboxRoleEnum[];
export const THREAD_ROLES = ["viewer", "editor"] as const satisfies readonly ThreadRoleEnum[];

/** Admins of a mailbox manage who has access, unless the operator owns the mailbox. */
export function canManageMailboxAccess(mailbox: Mailbox): boolean {
  return mailbox.role === "admin" && !mailbox.managed;
}

/** Editors (and above) of the thread's own mailbox decide who else sees it. */
export function canShareThread(thread: Thread, mailboxes: readonly Mailbox[]): boolean {
  const owner = mailboxes.find((mailbox) => mailbox.id === thread.mailbox);
  return owner !== undefined && owner.role !== null && owner.role !== "viewer";
}
