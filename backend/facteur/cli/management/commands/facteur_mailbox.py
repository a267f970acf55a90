"""``facteur-admin mailbox``: mailboxes and their aliases."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch

from facteur.cli.base import AdminCommand, NotFound, Output, Refused
from facteur.cli.lookups import (
    ensure_not_managed,
    get_domain,
    get_mailbox,
    get_user,
    parse_address,
)
from facteur.domains.models import (
    Mailbox,
    MailboxAccess,
    MailboxAlias,
    MailboxKind,
    MailboxRole,
)
from facteur.domains.services import (
    access_grant,
    alias_create,
    alias_delete,
    mailbox_create,
    mailbox_delete,
)
from facteur.mail.models import Message


def mailbox_data(mailbox: Mailbox, *, messages: int) -> dict[str, object]:
    return {
        "address": mailbox.address,
        "kind": mailbox.kind,
        "display_name": mailbox.display_name,
        "managed": mailbox.managed,
        "aliases": sorted(alias.address for alias in mailbox.aliases.all()),
        "accesses": [
            {"email": access.user.email, "role": access.role}
            for access in sorted(mailbox.accesses.all(), key=lambda a: a.user.email)
        ],
        "messages": messages,
        "created_at": mailbox.created_at,
    }


def _with_relations(queryset: Any) -> Any:
    return queryset.select_related("domain").prefetch_related(
        Prefetch("aliases", queryset=MailboxAlias.objects.select_related("domain")),
        Prefetch("accesses", queryset=MailboxAccess.objects.select_related("user")),
    )


def _reload(mailbox: Mailbox) -> dict[str, object]:
    fresh = _with_relations(Mailbox.objects.filter(pk=mailbox.pk)).get()
    return mailbox_data(fresh, messages=Message.objects.filter(mailbox=fresh).count())


class Command(AdminCommand):
    help = "Manage mailboxes: create, list, alias add|remove, delete."

    def add_actions(self, actions: argparse._SubParsersAction) -> None:
        create = self.action(actions, "create", self.create, "create a mailbox")
        create.add_argument("address", help="local@domain; the domain must exist")
        create.add_argument(
            "--shared", action="store_true", help="a shared mailbox (default: personal)"
        )
        create.add_argument("--name", default="", help="display name, e.g. 'Contact'")
        create.add_argument("--owner", metavar="EMAIL", help="give this user the admin role")

        listing = self.action(actions, "list", self.list, "list mailboxes")
        listing.add_argument("--domain", help="only the mailboxes of this domain")

        alias = actions.add_parser("alias", help="add or remove an alias", description="Aliases.")
        alias_actions = alias.add_subparsers(dest="alias_action", required=True, metavar="ACTION")
        for name, handler, help in (
            ("add", self.alias_add, "deliver another address to the mailbox"),
            ("remove", self.alias_remove, "remove an alias of the mailbox"),
        ):
            parser = self.action(alias_actions, name, handler, help)
            parser.add_argument("address", help="the mailbox")
            parser.add_argument(
                "alias", help="local@domain, or a local part in the mailbox's domain"
            )

        delete = self.action(actions, "delete", self.delete, "delete a mailbox")
        delete.add_argument("address")
        delete.add_argument(
            "--delete-mail",
            action="store_true",
            help="also delete the mail it holds (refused otherwise)",
        )

    def create(self, options: dict[str, Any]) -> Output:
        local, domain_name = parse_address(options["address"])
        domain = get_domain(domain_name)
        owner = get_user(options["owner"]) if options["owner"] else None
        mailbox = mailbox_create(
            domain=domain,
            local_part=local,
            kind=MailboxKind.SHARED if options["shared"] else MailboxKind.PERSONAL,
            display_name=options["name"],
        )
        if owner is not None:
            access_grant(mailbox=mailbox, user=owner, role=MailboxRole.ADMIN)
        text = f"Created the {mailbox.kind} mailbox {mailbox.address}."
        if owner is None:
            text += (
                " Nobody can read it yet: `facteur-admin access grant "
                f"{mailbox.address} EMAIL admin`."
            )
        return Output(_reload(mailbox), text=text)

    def list(self, options: dict[str, Any]) -> Output:
        mailboxes = Mailbox.objects.all()
        if options["domain"]:
            mailboxes = mailboxes.filter(domain=get_domain(options["domain"]))
        mailboxes = _with_relations(
            mailboxes.annotate(message_count=Count("messages")).order_by(
                "domain__name", "local_part"
            )
        )
        data = [mailbox_data(mailbox, messages=mailbox.message_count) for mailbox in mailboxes]
        rows = [
            (
                mailbox.address,
                mailbox.kind,
                mailbox.display_name,
                sorted(alias.address for alias in mailbox.aliases.all()),
                [
                    f"{access.user.email} ({access.role})"
                    for access in sorted(mailbox.accesses.all(), key=lambda a: a.user.email)
                ],
                mailbox.message_count,
            )
            for mailbox in mailboxes
        ]
        return Output(
            data,
            headers=["address", "kind", "name", "aliases", "accesses", "messages"],
            rows=rows,
        )

    def _alias_parts(self, mailbox: Mailbox, alias: str) -> tuple[str, str]:
        if "@" in alias:
            return parse_address(alias)
        return alias.strip().lower(), mailbox.domain.name

    def alias_add(self, options: dict[str, Any]) -> Output:
        mailbox = get_mailbox(options["address"])
        ensure_not_managed(mailbox, "mailbox")
        local, domain_name = self._alias_parts(mailbox, options["alias"])
        domain = get_domain(domain_name)
        alias = alias_create(mailbox=mailbox, local_part=local, domain=domain)
        return Output(_reload(mailbox), text=f"{alias.address} now delivers to {mailbox.address}.")

    def alias_remove(self, options: dict[str, Any]) -> Output:
        mailbox = get_mailbox(options["address"])
        ensure_not_managed(mailbox, "mailbox")
        local, domain_name = self._alias_parts(mailbox, options["alias"])
        alias = MailboxAlias.objects.filter(
            mailbox=mailbox, domain__name=domain_name, local_part=local
        ).first()
        if alias is None:
            raise NotFound(f"{local}@{domain_name} is not an alias of {mailbox.address}.")
        alias_delete(alias=alias)
        return Output(
            _reload(mailbox), text=f"Removed the alias {local}@{domain_name} of {mailbox.address}."
        )

    def delete(self, options: dict[str, Any]) -> Output:
        mailbox = get_mailbox(options["address"])
        ensure_not_managed(mailbox, "mailbox")
        data = _reload(mailbox)
        try:
            mailbox_delete(mailbox=mailbox, delete_mail=options["delete_mail"])
        except ValidationError as exc:
            raise Refused(f"{exc.messages[0]} Add --delete-mail to do so.") from None
        return Output(data, text=f"Deleted the mailbox {data['address']}.")
