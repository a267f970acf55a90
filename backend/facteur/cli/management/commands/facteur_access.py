"""``facteur-admin access``: who may use a mailbox, and with which role."""

from __future__ import annotations

import argparse
from typing import Any

from facteur.cli.base import AdminCommand, NotFound, Output
from facteur.cli.lookups import ensure_not_managed, get_mailbox, get_user
from facteur.domains.models import MailboxAccess, MailboxRole
from facteur.domains.services import access_grant, access_revoke


def access_data(access: MailboxAccess) -> dict[str, object]:
    return {
        "mailbox": access.mailbox.address,
        "email": access.user.email,
        "full_name": access.user.full_name,
        "role": access.role,
        "created_at": access.created_at,
    }


class Command(AdminCommand):
    help = "Manage mailbox accesses: grant, revoke, list."

    def add_actions(self, actions: argparse._SubParsersAction) -> None:
        roles = ", ".join(MailboxRole.values)
        grant = self.action(
            actions, "grant", self.grant, f"give a user a role on a mailbox ({roles})"
        )
        grant.add_argument("address", help="the mailbox")
        grant.add_argument("email", help="the user")
        grant.add_argument("role", help=f"one of {roles}; each includes the ones before it")

        revoke = self.action(actions, "revoke", self.revoke, "take a user's access away")
        revoke.add_argument("address")
        revoke.add_argument("email")

        listing = self.action(actions, "list", self.list, "list who may use a mailbox")
        listing.add_argument("address")

    def grant(self, options: dict[str, Any]) -> Output:
        mailbox = get_mailbox(options["address"])
        ensure_not_managed(mailbox, "mailbox")
        user = get_user(options["email"])
        access = access_grant(mailbox=mailbox, user=user, role=options["role"].strip().lower())
        return Output(
            access_data(access), text=f"{user.email} is {access.role} of {mailbox.address}."
        )

    def revoke(self, options: dict[str, Any]) -> Output:
        mailbox = get_mailbox(options["address"])
        ensure_not_managed(mailbox, "mailbox")
        user = get_user(options["email"])
        access = (
            MailboxAccess.objects.select_related("mailbox__domain", "user")
            .filter(mailbox=mailbox, user=user)
            .first()
        )
        if access is None:
            raise NotFound(f"{user.email} has no access to {mailbox.address}.")
        data = access_data(access)
        access_revoke(access=access)
        return Output(data, text=f"{user.email} no longer has access to {mailbox.address}.")

    def list(self, options: dict[str, Any]) -> Output:
        mailbox = get_mailbox(options["address"])
        accesses = (
            MailboxAccess.objects.filter(mailbox=mailbox)
            .select_related("mailbox__domain", "user")
            .order_by("user__email")
        )
        data = [access_data(access) for access in accesses]
        rows = [(d["email"], d["full_name"], d["role"], d["created_at"]) for d in data]
        return Output(data, headers=["email", "name", "role", "since"], rows=rows)
