"""Finding the records named on the command line, with messages that say what to do next."""

from __future__ import annotations

import getpass
import secrets
import string
import sys

from django.core.exceptions import ValidationError

from facteur.cli.base import NotFound, Refused
from facteur.domains.models import Mailbox, MailboxAlias, MailDomain
from facteur.domains.selectors import split_address
from facteur.domains.validation import clean_domain_name
from facteur.users.models import User


def get_user(email: str) -> User:
    user = User.objects.filter(email=email.strip().lower()).first()
    if user is None:
        raise NotFound(f"No user with the e-mail {email.strip().lower()}.")
    return user


def get_domain(name: str) -> MailDomain:
    clean = clean_domain_name(name)
    domain = MailDomain.objects.filter(name=clean).first()
    if domain is None:
        raise NotFound(
            f"No domain {clean}: create it first with `facteur-admin domain create {clean}`."
        )
    return domain


def parse_address(address: str) -> tuple[str, str]:
    parts = split_address(address)
    if parts is None:
        raise ValidationError(f"{address!r} is not an e-mail address (local@domain).")
    return parts


def get_mailbox(address: str) -> Mailbox:
    """The mailbox at exactly ``address`` (an alias is refused: it names another mailbox)."""
    local, domain_name = parse_address(address)
    mailbox = (
        Mailbox.objects.select_related("domain")
        .filter(domain__name=domain_name, local_part=local)
        .first()
    )
    if mailbox is None:
        alias = (
            MailboxAlias.objects.select_related("mailbox__domain")
            .filter(domain__name=domain_name, local_part=local)
            .first()
        )
        if alias is not None:
            raise NotFound(
                f"{local}@{domain_name} is an alias of the mailbox {alias.mailbox.address}: "
                "name the mailbox itself."
            )
        raise NotFound(f"No mailbox {local}@{domain_name}.")
    return mailbox


def ensure_not_managed(record: MailDomain | Mailbox, what: str) -> None:
    """Records created by the Kubernetes operator change through their custom resource."""
    if record.managed:
        raise Refused(
            f"The {what} {record} is managed by the Kubernetes operator: change its "
            "custom resource instead."
        )


_ALPHABET = string.ascii_letters + string.digits


def random_password() -> str:
    """16 letters and digits (95 bits): a double click selects it whole in a terminal."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(16))


def read_password() -> str:
    """Ask twice on a terminal; otherwise read one line from standard input (for scripts)."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise ValidationError("No password on standard input.")
        return password
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise ValidationError("The two passwords differ.")
    return first
