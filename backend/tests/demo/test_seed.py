"""The demo domain: what ``facteur-admin demo seed`` creates, through the real ingest path."""

from __future__ import annotations

import io
import stat
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from facteur.blobs.services import blob_read
from facteur.demo.seed import DOMAIN, MESSAGES, demo_seed, fixture_bytes
from facteur.domains.models import Mailbox, MailboxAccess, MailDomain, MailDomainAdmin
from facteur.mail.models import Attachment, Message, Thread
from facteur.users.models import User

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

# mailbox -> (thread subject, messages, of which written by the mailbox itself)
EXPECTED_THREADS = {
    "contact": {
        ("Request for a copy of my birth certificate", 3, 1),
        ("Building permit PC 123: site plan to check", 2, 1),
    },
    "user1": {
        ("Welcome to Facteur", 1, 0),
        ("The Neighbourhood Gazette - November: market, works, concerts", 1, 0),
        ("Open day on Saturday: who does what?", 3, 2),
    },
    "user2": {
        ("Welcome to Facteur", 1, 0),
        ("The Neighbourhood Gazette - November: market, works, concerts", 1, 0),
        ("Réunion du conseil de quartier : ordre du jour", 3, 1),
        ("Open day on Saturday: who does what?", 3, 1),
    },
    "user3": {
        ("Welcome to Facteur", 1, 0),
        ("Réunion du conseil de quartier : ordre du jour", 1, 0),
    },
}


@pytest.fixture
def seeded(db, tmp_path):
    return demo_seed(credentials_file=tmp_path / "demo-credentials.txt", now=NOW)


def test_users_log_in_with_the_printed_passwords(seeded):
    assert seeded.created
    assert [a.email for a in seeded.accounts] == [f"user{i}@{DOMAIN}" for i in (1, 2, 3)]
    for account in seeded.accounts:
        user = authenticate(email=account.email, password=account.password)
        assert user is not None and user.full_name == account.full_name
        assert not user.is_staff
    assert len({a.password for a in seeded.accounts}) == 3


def test_credentials_file_is_private(seeded):
    path = seeded.credentials_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    for account in seeded.accounts:
        assert f"{account.email}  {account.password}" in text


def test_mailboxes_and_accesses(seeded):
    domain = MailDomain.objects.get(name=DOMAIN)
    boxes = {box.local_part: box for box in Mailbox.objects.filter(domain=domain)}
    accesses = {
        (a.mailbox.local_part, a.user.email, a.role)
        for a in MailboxAccess.objects.filter(mailbox__domain=domain).select_related(
            "mailbox", "user"
        )
    }

    assert {local: box.kind for local, box in boxes.items()} == {
        "user1": "personal",
        "user2": "personal",
        "user3": "personal",
        "contact": "shared",
    }
    assert boxes["contact"].display_name == "Contact"
    assert accesses == {
        ("user1", "user1@example.local", "admin"),
        ("user2", "user2@example.local", "admin"),
        ("user3", "user3@example.local", "admin"),
        ("contact", "user1@example.local", "admin"),
        ("contact", "user2@example.local", "editor"),
    }
    assert [a.user.email for a in MailDomainAdmin.objects.filter(domain=domain)] == [
        "user1@example.local"
    ]


def test_threads_per_mailbox(seeded):
    found: dict[str, set[tuple[str, int, int]]] = {}
    for thread in Thread.objects.filter(mailbox__domain__name=DOMAIN).select_related("mailbox"):
        own = thread.messages.filter(is_sender=True).count()
        found.setdefault(thread.mailbox.local_part, set()).add(
            (thread.subject, thread.message_count, own)
        )

    assert found == EXPECTED_THREADS
    stored = Message.objects.filter(mailbox__domain__name=DOMAIN).count()
    assert stored == seeded.messages == sum(len(m.recipients) for m in MESSAGES) == 20
    assert not Message.objects.filter(is_malformed=True).exists()


def test_content_survives_ingest(seeded):
    pdf = Attachment.objects.get(message__mailbox__local_part="contact")
    assert (pdf.filename, pdf.content_type) == ("plan-de-situation.pdf", "application/pdf")
    data = blob_read(blob=pdf.blob)
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")

    newsletter = Message.objects.filter(mime_id="gazette-2026-11@gazette.example").first()
    assert "<h1>November in the neighbourhood</h1>" in newsletter.html_body
    assert newsletter.text_body.startswith("THE NEIGHBOURHOOD GAZETTE")

    french = Message.objects.get(mime_id="conseil-1.helene@asso.example")
    assert french.sender_name == "Hélène Lefèvre"
    assert "déficit de 120 €" in french.text_body
    assert "« jardins partagés »" in french.text_body


def test_dates_are_spread_over_the_last_days(seeded):
    messages = Message.objects.filter(mailbox__domain__name=DOMAIN)
    assert all(NOW - timedelta(days=6) < m.received_at < NOW for m in messages)
    # The Date header moved with the delivery time.
    assert all(m.sent_at == m.received_at.replace(microsecond=0) for m in messages)
    latest = messages.order_by("-received_at").first()
    assert latest.mime_id == "request-2.marie@mail.example"


def test_seeding_twice_changes_nothing(seeded, tmp_path):
    credentials = seeded.credentials_file.read_text()
    counts = (User.objects.count(), Mailbox.objects.count(), Message.objects.count())

    again = demo_seed(credentials_file=seeded.credentials_file)

    assert not again.created
    assert again.accounts == []
    assert (User.objects.count(), Mailbox.objects.count(), Message.objects.count()) == counts
    assert seeded.credentials_file.read_text() == credentials


def test_fixture_dates_are_rewritten_and_lines_end_in_crlf():
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    raw = fixture_bytes("08-conseil-de-quartier.eml", received_at=when)

    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nDate: Fri, 02 Jan 2026 03:04:05 +0000\r\n" in head
    assert raw.count(b"\n") == raw.count(b"\r\n")


def test_the_command_prints_the_passwords_once(db, tmp_path):
    out = io.StringIO()
    call_command("facteur_demo", "seed", "--credentials-file", str(tmp_path / "c.txt"), stdout=out)
    first = out.getvalue()
    out = io.StringIO()
    call_command("facteur_demo", "seed", stdout=out)

    assert first.startswith("Created the demo domain example.local: 3 users, 4 mailboxes")
    assert first.count("@example.local  ") >= 3
    assert f"Saved to {tmp_path / 'c.txt'}" in first
    assert out.getvalue().strip() == "The demo domain example.local exists already: nothing to do."
