"""``facteur-admin domain``: mail domains and their administrators."""

from __future__ import annotations

import argparse
from typing import Any

from django.db.models import Count, Prefetch

from facteur.cli.base import AdminCommand, Output, Refused
from facteur.cli.lookups import ensure_not_managed, get_domain, get_user
from facteur.domains.models import MailDomain, MailDomainAdmin
from facteur.domains.services import (
    domain_admin_add,
    domain_admin_remove,
    domain_create,
    domain_delete,
)


def domain_data(domain: MailDomain, *, mailboxes: int, admins: list[str]) -> dict[str, object]:
    return {
        "name": domain.name,
        "managed": domain.managed,
        "mailboxes": mailboxes,
        "admins": admins,
        "created_at": domain.created_at,
    }


def _admins(domain: MailDomain) -> list[str]:
    return sorted(admin.user.email for admin in domain.admins.select_related("user"))


class Command(AdminCommand):
    help = "Manage mail domains: create, list, admin add|remove, delete."

    def add_actions(self, actions: argparse._SubParsersAction) -> None:
        create = self.action(actions, "create", self.create, "create a mail domain")
        create.add_argument("name")

        self.action(actions, "list", self.list, "list mail domains")

        admin = actions.add_parser(
            "admin", help="add or remove a domain administrator", description="Domain admins."
        )
        admin_actions = admin.add_subparsers(dest="admin_action", required=True, metavar="ACTION")
        for name, handler, help in (
            ("add", self.admin_add, "make a user administrator of the domain"),
            ("remove", self.admin_remove, "remove a domain administrator"),
        ):
            parser = self.action(admin_actions, name, handler, help)
            parser.add_argument("domain")
            parser.add_argument("email")

        delete = self.action(actions, "delete", self.delete, "delete a domain without mailboxes")
        delete.add_argument("name")

    def create(self, options: dict[str, Any]) -> Output:
        domain = domain_create(name=options["name"])
        return Output(
            domain_data(domain, mailboxes=0, admins=[]), text=f"Created the domain {domain.name}."
        )

    def list(self, options: dict[str, Any]) -> Output:
        domains = (
            MailDomain.objects.annotate(mailbox_count=Count("mailboxes"))
            .prefetch_related(
                Prefetch("admins", queryset=MailDomainAdmin.objects.select_related("user"))
            )
            .order_by("name")
        )
        data = [
            domain_data(
                domain,
                mailboxes=domain.mailbox_count,
                admins=sorted(admin.user.email for admin in domain.admins.all()),
            )
            for domain in domains
        ]
        rows = [(d["name"], d["mailboxes"], d["admins"], d["managed"]) for d in data]
        return Output(data, headers=["domain", "mailboxes", "admins", "managed"], rows=rows)

    def admin_add(self, options: dict[str, Any]) -> Output:
        domain = get_domain(options["domain"])
        user = get_user(options["email"])
        domain_admin_add(domain=domain, user=user)
        return Output(
            domain_data(domain, mailboxes=domain.mailboxes.count(), admins=_admins(domain)),
            text=f"{user.email} administers {domain.name}.",
        )

    def admin_remove(self, options: dict[str, Any]) -> Output:
        domain = get_domain(options["domain"])
        user = get_user(options["email"])
        if not domain.admins.filter(user=user).exists():
            raise Refused(f"{user.email} is not an administrator of {domain.name}.")
        domain_admin_remove(domain=domain, user=user)
        return Output(
            domain_data(domain, mailboxes=domain.mailboxes.count(), admins=_admins(domain)),
            text=f"{user.email} no longer administers {domain.name}.",
        )

    def delete(self, options: dict[str, Any]) -> Output:
        domain = get_domain(options["name"])
        ensure_not_managed(domain, "domain")
        data = domain_data(domain, mailboxes=0, admins=_admins(domain))
        domain_delete(domain=domain)
        return Output(data, text=f"Deleted the domain {data['name']}.")
