"""Reads about domains, mailboxes and who may do what with them."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from facteur.domains.models import Mailbox, MailboxAccess, MailboxAlias, MailboxRole, MailDomain
from facteur.users.models import User


def split_address(address: str) -> tuple[str, str] | None:
    local, sep, domain = address.strip().rpartition("@")
    if not sep or not local or not domain:
        return None
    return local.lower(), domain.lower().rstrip(".")


def mailbox_for_address(address: str) -> Mailbox | None:
    """The mailbox an address delivers to, directly or through an alias."""
    parts = split_address(address)
    if parts is None:
        return None
    local, domain = parts
    mailbox = (
        Mailbox.objects.select_related("domain")
        .filter(domain__name=domain, local_part=local)
        .first()
    )
    if mailbox is None:
        alias = (
            MailboxAlias.objects.select_related("mailbox__domain")
            .filter(domain__name=domain, local_part=local)
            .first()
        )
        mailbox = alias.mailbox if alias else None
    return mailbox


def mailbox_role(*, user: User, mailbox_id: object) -> str | None:
    return (
        MailboxAccess.objects.filter(user=user, mailbox_id=mailbox_id)
        .values_list("role", flat=True)
        .first()
    )


def mailbox_ids_for_user(*, user: User, min_role: str = MailboxRole.VIEWER) -> QuerySet:
    """Ids of the mailboxes whose mail ``user`` may act on with at least ``min_role``."""
    return MailboxAccess.objects.filter(user=user, role__in=MailboxRole.at_least(min_role)).values(
        "mailbox_id"
    )


def mailboxes_for_user(*, user: User) -> QuerySet[Mailbox]:
    return (
        Mailbox.objects.filter(accesses__user=user)
        .select_related("domain")
        .order_by("kind", "domain__name", "local_part")
    )


def domains_administered(*, user: User) -> QuerySet[MailDomain]:
    return MailDomain.objects.filter(admins__user=user).order_by("name")


def is_domain_admin(*, user: User, domain_id: object) -> bool:
    return MailDomain.objects.filter(pk=domain_id, admins__user=user).exists()


def mailboxes_manageable_by(*, user: User) -> QuerySet[Mailbox]:
    """Mailboxes whose accesses ``user`` manages: as mailbox admin or as domain admin."""
    as_admin = MailboxAccess.objects.filter(
        mailbox=OuterRef("pk"), user=user, role=MailboxRole.ADMIN
    )
    return Mailbox.objects.filter(Q(Exists(as_admin)) | Q(domain__admins__user=user)).distinct()


def address_taken(*, domain: MailDomain, local_part: str) -> bool:
    """Whether a mailbox or an alias of ``domain`` has this local part (one query)."""
    return bool(addresses_taken({(domain.pk, local_part.lower())}))


def addresses_taken(addresses: set[tuple[Any, str]]) -> set[tuple[Any, str]]:
    """Which of these (domain id, lower-case local part) a mailbox or an alias has, in one
    query (a batch of new mailboxes checks all its addresses at once)."""
    if not addresses:
        return set()
    near = {
        "domain_id__in": {d for d, _ in addresses},
        "local_part__in": {x for _, x in addresses},
    }
    mailboxes = Mailbox.objects.filter(**near).values_list("domain_id", "local_part")
    aliases = MailboxAlias.objects.filter(**near).values_list("domain_id", "local_part")
    return set(mailboxes.union(aliases, all=True)) & addresses
