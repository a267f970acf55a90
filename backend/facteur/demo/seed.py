"""The demo domain: three users, their mailboxes, a shared mailbox, and a few threads.

Everything goes through the real services; the mail goes through the real ingest
path (``facteur.ingest.services.ingest_message``), from the ``.eml`` files in
``fixtures/``, with dates moved to the last few days so that the demo looks fresh.
Seeding does nothing when the domain exists already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from facteur.cli.lookups import random_password
from facteur.domains.models import MailboxKind, MailboxRole, MailDomain
from facteur.domains.services import access_grant, domain_admin_add, domain_create, mailbox_create
from facteur.users.services import user_create

DOMAIN = "example.local"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# (local part, full name, what they can do): user1 runs the place, user2 helps.
USERS = (
    ("user1", "Camille Martin", "domain admin; admin of contact@"),
    ("user2", "Louis Bernard", "editor of contact@"),
    ("user3", "Inès Moreau", "own mailbox only"),
)
SHARED = ("contact", "Contact", (("user1", MailboxRole.ADMIN), ("user2", MailboxRole.EDITOR)))


@dataclass(frozen=True)
class DemoMessage:
    fixture: str
    recipients: tuple[str, ...]  # local parts in the demo domain (the SMTP envelope)
    age: timedelta  # received this long before the seed


def _ago(days: int = 0, hours: int = 0, minutes: int = 0) -> timedelta:
    return timedelta(days=days, hours=hours, minutes=minutes)


# Oldest first, as they would have arrived. A copy written by a mailbox itself (a reply
# from contact@, user2's answer) is delivered to that mailbox like a Bcc to oneself.
MESSAGES = (
    DemoMessage("01-welcome.eml", ("user1", "user2", "user3"), _ago(days=5, hours=2)),
    DemoMessage("02-citizen-request.eml", ("contact",), _ago(days=3, hours=22)),
    DemoMessage("03-citizen-request-reply.eml", ("contact",), _ago(days=3, hours=4)),
    DemoMessage("08-conseil-de-quartier.eml", ("user2",), _ago(days=2, hours=6)),
    DemoMessage("05-newsletter.eml", ("user1", "user2"), _ago(days=2, hours=3)),
    DemoMessage("09-conseil-de-quartier-reponse.eml", ("user2",), _ago(days=2, hours=1)),
    DemoMessage("10-conseil-de-quartier-suite.eml", ("user2", "user3"), _ago(days=1, hours=20)),
    DemoMessage("06-building-permit.eml", ("contact",), _ago(days=1, hours=7)),
    DemoMessage("07-building-permit-reply.eml", ("contact",), _ago(days=1, hours=5)),
    DemoMessage("11-open-day.eml", ("user2", "user1"), _ago(hours=22)),
    DemoMessage("12-open-day-reply.eml", ("user1", "user2"), _ago(hours=5)),
    DemoMessage("13-open-day-final.eml", ("user2", "user1"), _ago(hours=2)),
    DemoMessage("04-citizen-request-followup.eml", ("contact",), _ago(minutes=50)),
)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    password: str
    roles: str


@dataclass
class SeedResult:
    created: bool
    domain: str = DOMAIN
    accounts: list[DemoAccount] = field(default_factory=list)
    mailboxes: list[str] = field(default_factory=list)
    messages: int = 0  # stored copies (one per recipient mailbox)
    credentials_file: Path | None = None


_DATE = re.compile(rb"^Date:[^\n]*(\n[ \t][^\n]*)*", re.MULTILINE | re.IGNORECASE)


def fixture_bytes(name: str, *, received_at: datetime) -> bytes:
    """A fixture as it arrives over SMTP: CRLF line ends, Date set to ``received_at``."""
    raw = (FIXTURES / name).read_bytes().replace(b"\r\n", b"\n")
    head, sep, body = raw.partition(b"\n\n")
    date = f"Date: {format_datetime(received_at)}".encode()
    head = _DATE.sub(lambda _: date, head, count=1)
    return (head + sep + body).replace(b"\n", b"\r\n")


def credentials_text(result: SeedResult, *, url: str | None = None) -> str:
    lines = [
        f"# Facteur demo accounts, created {timezone.now():%Y-%m-%d %H:%M} UTC.",
        f"# Log in at {url}" if url else "# Log in on the web interface with these.",
        "",
    ]
    width = max(len(account.email) for account in result.accounts)
    lines += [
        f"{account.email.ljust(width)}  {account.password}  # {account.full_name}: {account.roles}"
        for account in result.accounts
    ]
    return "\n".join(lines) + "\n"


def demo_seed(
    *, credentials_file: Path | None = None, now: datetime | None = None, url: str | None = None
) -> SeedResult:
    """Create the demo domain unless it exists; write the passwords to ``credentials_file``."""
    if MailDomain.objects.filter(name=DOMAIN).exists():
        return SeedResult(created=False)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            result = _create(now=now)
    except ValidationError as exc:
        # Another seed committed the domain between the check and the insert.
        if MailDomain.objects.filter(name=DOMAIN).exists():
            return SeedResult(created=False)
        raise exc from None
    if credentials_file is not None:
        from facteur.local.environment import write_private

        write_private(credentials_file, credentials_text(result, url=url))
        result.credentials_file = credentials_file
    return result


def _create(*, now: datetime) -> SeedResult:
    from facteur.ingest.services import Outcome, ingest_message

    domain = domain_create(name=DOMAIN)
    result = SeedResult(created=True)
    users = {}
    for local, full_name, roles in USERS:
        password = random_password()
        user = user_create(email=f"{local}@{DOMAIN}", password=password, full_name=full_name)
        users[local] = user
        mailbox = mailbox_create(
            domain=domain, local_part=local, kind=MailboxKind.PERSONAL, display_name=full_name
        )
        access_grant(mailbox=mailbox, user=user, role=MailboxRole.ADMIN)
        result.accounts.append(DemoAccount(user.email, full_name, password, roles))
        result.mailboxes.append(mailbox.address)
    domain_admin_add(domain=domain, user=users["user1"])

    local, display_name, accesses = SHARED
    shared = mailbox_create(
        domain=domain, local_part=local, kind=MailboxKind.SHARED, display_name=display_name
    )
    for user_local, role in accesses:
        access_grant(mailbox=shared, user=users[user_local], role=role)
    result.mailboxes.append(shared.address)

    for message in sorted(MESSAGES, key=lambda m: m.age, reverse=True):
        received_at = now - message.age
        ingested = ingest_message(
            raw=fixture_bytes(message.fixture, received_at=received_at),
            recipients=[f"{local}@{DOMAIN}" for local in message.recipients],
            received_at=received_at,
        )
        refused = [r.recipient for r in ingested.recipients if r.outcome != Outcome.STORED]
        if refused or ingested.is_malformed:
            raise RuntimeError(
                f"demo fixture {message.fixture} was not stored cleanly for {refused}: "
                f"{ingested.parse_errors}"
            )
        result.messages += len(ingested.recipients)
    return result
