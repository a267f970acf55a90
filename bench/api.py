"""API latency and web-worker memory with a large mailbox.

Fills a dedicated database (``facteur_bench_api``) with a shared mailbox of N messages
(default 100,000, in ~30,000 threads), read by two users (an admin and a viewer with their
own read state), plus an unrelated mailbox with a tenth of that mail and a small personal
mailbox of the admin; then serves the API with a real gunicorn worker and times the
thread list (first page, a deep page, every folder, unread and label filters, every
mailbox), the thread detail, the thread view and the mailbox list, while sampling the
worker's resident memory.

    .venv/bin/python bench/api.py [--messages 100000] [--requests 300] [--smoke]

DATABASE_URL / REDIS_URL are used when set (the database named in DATABASE_URL is only
used to reach the server: the bench drops and creates its own database); otherwise an
embedded PostgreSQL and Redis are started in ``var/bench`` (or ``--var-dir``).

Targets: p95 under 30 ms for the thread list and thread view, peak RSS of the web
worker under 250 MB. Misses are printed, not fatal: the exit status is non-zero only
when something fails (an HTTP error, a crash).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from _common import copy_rows, free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))

DB_NAME = "facteur_bench_api"
PASSWORD = "bench-Passw0rd-not-for-production"
DOMAIN = "bench.example"
OTHER_DOMAIN = "other.example"
LATENCY_TARGET_MS = 30.0
RSS_TARGET_MB = 250.0
API = "/api/v1.0"


# --- environment ------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=f"/{name}"))


def prepare_environment(var_dir: Path) -> tuple[str, str]:
    """Fill os.environ for the bench; return (server admin URL, bench database URL)."""
    from facteur.local.embedded import ensure_services

    os.environ["DJANGO_SETTINGS_MODULE"] = "facteur.config.settings"
    os.environ.pop("FACTEUR_SECRET_KEY_FILE", None)
    os.environ["FACTEUR_SECRET_KEY"] = "bench-only-" + secrets.token_urlsafe(32)
    os.environ["FACTEUR_SECURE_COOKIES"] = "false"
    os.environ["FACTEUR_ALLOWED_HOSTS"] = "127.0.0.1"
    os.environ["FACTEUR_DEBUG"] = "false"
    os.environ.setdefault("FACTEUR_LOG_LEVEL", "WARNING")
    started = ensure_services(var_dir)
    if started:
        print(f"embedded services in {var_dir}: {', '.join(sorted(started))}")
    server_url = _with_database(os.environ["DATABASE_URL"], "postgres")
    bench_url = _with_database(os.environ["DATABASE_URL"], DB_NAME)
    os.environ["DATABASE_URL"] = bench_url
    return server_url, bench_url


def recreate_database(server_url: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def database_exists(server_url: str) -> bool:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        return row is not None


# --- realistic-looking content ------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "Alice Bruno Chloé Daniel Emma Farid Gabriel Hélène Inès Jules Karim Léa Manon Nathan "
    "Olivia Paul Quentin Rose Samuel Théo Ursula Victor William Xavier Yasmine Zoé Adèle "
    "Baptiste Camille Diane Elise Florian Grace Hugo Irène Jeanne Kevin Louise Mathis Nina"
)
LAST = _words(
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard Andre Mercier "
    "Dupont Lambert Bonnet Francois Martinez Legrand Garnier Faure Rousseau Blanc Guerin"
)
COMPANIES = _words(
    "acme globex initech umbrella hooli vandelay stark wayne wonka soylent tyrell cyberdyne "
    "oceanic massive aperture gringotts monarch dunder kramerica pied-piper"
)
TLDS = ["com", "fr", "io", "org", "net", "eu", "de"]
TOPICS = [
    "Invoice {n} for {company}",
    "Order #{n} has shipped",
    "Question about my account",
    "Cannot log in since this morning",
    "Renewal of the {company} contract",
    "Meeting notes {n}",
    "Your ticket #{n} was updated",
    "Partnership proposal from {company}",
    "Refund request for order {n}",
    "Delivery delayed: order {n}",
    "Weekly report, week {w}",
    "Quote request: {n} licences",
    "Press inquiry from {company}",
    "Job application: backend engineer",
    "Access to the shared drive",
    "Follow-up on our call",
    "Security alert for your account",
    "Planning for Q{q}",
    "Feedback on the new release",
    "Bug report: export fails with {n} rows",
]
NEWSLETTERS = [
    "{company} newsletter, issue {n}",
    "This week at {company}",
    "Product update: what is new in {n}",
    "Your monthly statement is ready",
]
SENTENCES = [
    "Thank you for getting back to me so quickly.",
    "I am writing about the order we placed last week, which has not arrived yet.",
    "Could you please confirm that the payment went through on your side?",
    "We would like to schedule a call early next week to discuss the next steps.",
    "Attached you will find the documents you asked for during our meeting.",
    "The issue seems to happen only when more than one person edits the same record.",
    "Our finance team needs an updated invoice with the new billing address.",
    "Let me know if anything is unclear, I am happy to go through it again.",
    "We noticed a discrepancy between the quote and the final invoice.",
    "As discussed, the deadline has been moved to the end of the month.",
    "I have tried resetting my password twice, but the link seems to have expired.",
    "The new version fixed the export problem, but the import is now noticeably slower.",
    "Please find below a summary of what we agreed on during the workshop.",
    "Our legal department has a few remarks about clause twelve of the contract.",
    "I would appreciate it if you could escalate this to someone in your technical team.",
    "The shipment was split in two parcels; only the first one has been delivered.",
    "We are very happy with the service so far and would like to extend the licence.",
    "Could you send us the slides from yesterday's presentation?",
    "I am out of the office until Monday with limited access to e-mail.",
    "The dashboard shows numbers that do not match the ones in the monthly report.",
    "Would Thursday at ten work for everyone? Otherwise Friday afternoon is fine too.",
    "We have updated our privacy policy; the changes take effect next month.",
    "Following up on my previous message, since I have not heard back yet.",
    "Our accountant asks whether the amounts are with or without VAT.",
    "The candidate has five years of experience with Python and PostgreSQL.",
    "I checked the logs and the error started right after the maintenance window.",
    "Can you add my colleague to the shared mailbox so she can answer customers?",
    "Everything is ready on our side; we are only waiting for your signature.",
    "The meeting room is booked, and lunch will be served at half past twelve.",
    "We cannot reproduce the problem with the test account you gave us.",
    "Please note that our offices will be closed on the public holiday.",
    "I forwarded your request to the person in charge of partnerships.",
    "The quote is valid for thirty days from the date of this message.",
    "Kind reminder that the invoice is now fifteen days overdue.",
    "Several customers reported the same issue after the last update.",
    "The journalist would like a short interview with the founders next week.",
    "I attach the signed purchase order and the delivery instructions.",
    "We would need the data exported as CSV, with one line per transaction.",
    "Could you clarify which plan includes priority support?",
    "Thanks again for your patience while we looked into this.",
]
ATTACHMENT_KINDS = [
    ("invoice.pdf", "application/pdf", 180_000),
    ("contract.pdf", "application/pdf", 420_000),
    ("photo.jpg", "image/jpeg", 950_000),
    ("report.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 60_000),
    ("notes.txt", "text/plain", 4_000),
    ("logo.png", "image/png", 12_000),
]
LABELS = [
    ("Billing", "#2563eb", 30),
    ("Clients/ACME", "#16a34a", 20),
    ("Clients/Globex", "#15803d", 12),
    ("Support/Urgent", "#dc2626", 10),
    ("Support/Waiting", "#f59e0b", 12),
    ("Partners", "#7c3aed", 6),
    ("Press", "#db2777", 4),
    ("Recruiting", "#0891b2", 6),
]


def _body(rng: random.Random, greeting: str, signature: str) -> list[str]:
    """Paragraphs of 1-3 kB of text in total."""
    target = rng.randint(1000, 3000)
    paragraphs = [greeting]
    size = len(greeting)
    while size < target:
        paragraph = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(2, 5)))
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    paragraphs.append(signature)
    return paragraphs


def _html(paragraphs: list[str], newsletter: bool, rng: random.Random) -> str:
    parts = [
        "<html><head><style>p { margin: 0 0 12px }</style></head><body>",
        '<div style="font-family: Arial, sans-serif; font-size: 14px; color: #222222">',
    ]
    if newsletter:
        parts.append(
            f'<img src="https://cdn.example.net/banner/{rng.randint(1, 99)}.png" alt="banner" '
            'width="600" height="120">'
        )
    for paragraph in paragraphs:
        text = paragraph.replace("\n", "<br>")
        parts.append(f'<p style="line-height: 1.4">{text}</p>')
    if newsletter:
        parts.append(
            '<table width="100%" cellpadding="4"><tr>'
            '<td><a href="https://news.example.net/read">Read online</a></td>'
            '<td><a href="https://news.example.net/unsubscribe">Unsubscribe</a></td>'
            f'<td><img src="https://track.example.net/open/{rng.getrandbits(40):x}.gif" '
            'width="1" height="1"></td></tr></table>'
        )
    parts.append("</div></body></html>")
    return "".join(parts)


def _snippet(text: str) -> str:
    return " ".join(text.split())[:200]


def _headers(message: Msg, to: str, rng: random.Random) -> str:
    date = message.received_at.strftime("%a, %d %b %Y %H:%M:%S +0000")
    headers = [
        ["Return-Path", f"<{message.sender_email}>"],
        [
            "Received",
            f"from mx{rng.randint(1, 9)}.mail.example.net (mx.mail.example.net [203.0.113."
            f"{rng.randint(1, 254)}]) by mx.{DOMAIN} with ESMTPS id {rng.getrandbits(48):x}; "
            f"{date}",
        ],
        [
            "DKIM-Signature",
            "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net; s=s1; "
            f"h=from:to:subject:date:message-id; bh={rng.getrandbits(256):x}; "
            f"b={rng.getrandbits(512):x}{rng.getrandbits(512):x}",
        ],
        ["From", f'"{message.sender_name}" <{message.sender_email}>'],
        ["To", to],
        ["Subject", message.subject],
        ["Date", date],
        ["Message-ID", f"<{message.mime_id}>"],
        ["MIME-Version", "1.0"],
        ["Content-Type", 'multipart/alternative; boundary="b1"'],
    ]
    if message.in_reply_to:
        headers.append(["In-Reply-To", f"<{message.in_reply_to}>"])
    return json.dumps(headers)


# --- data generation ----------------------------------------------------------------------


@dataclass(slots=True)
class Msg:
    id: uuid.UUID
    thread_id: uuid.UUID
    mailbox_id: uuid.UUID
    mime_id: str
    in_reply_to: str
    references: list[str]
    subject: str
    sender_name: str
    sender_email: str
    to_name: str
    to_email: str
    cc: tuple[str, str] | None
    received_at: datetime
    is_draft: bool = False
    is_sender: bool = False
    is_starred: bool = False
    is_trashed: bool = False
    is_spam: bool = False
    is_archived: bool = False
    html: bool = False
    newsletter: bool = False
    attachments: int = 0


@dataclass
class MailboxPlan:
    mailbox_id: uuid.UUID
    address: str
    display_name: str
    thread_rows: list[tuple] = field(default_factory=list)
    messages: list[Msg] = field(default_factory=list)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = rng.choice(COMPANIES)
    local = f"{first}.{last}".lower().encode("ascii", "ignore").decode()
    return f"{first} {last}", f"{local}@{company}.{rng.choice(TLDS)}"


def plan_mailbox(
    *, rng: random.Random, mailbox_id: uuid.UUID, address: str, display_name: str,
    messages: int, now: datetime,
) -> MailboxPlan:  # fmt: skip
    """Threads of 1-8 messages spread over two years, with folders and flags."""
    plan = MailboxPlan(mailbox_id=mailbox_id, address=address, display_name=display_name)
    people = [_person(rng) for _ in range(max(50, messages // 50))]
    sizes, weights = [1, 2, 3, 4, 5, 6, 7, 8], [22, 20, 15, 12, 10, 8, 7, 6]
    two_years = 730 * 86400
    left = messages
    while left > 0:
        thread_id = _uuid(rng)
        kind = rng.random()
        newsletter = kind < 0.10
        outbound = 0.10 <= kind < 0.18
        state = rng.random()
        spam = state < 0.03 and not outbound
        trashed = 0.03 <= state < 0.08
        archived = 0.08 <= state < 0.40
        count = 1 if newsletter or spam else rng.choices(sizes, weights)[0]
        draft = not (spam or trashed) and rng.random() < 0.02
        count = min(count + draft, left)
        starred = not spam and rng.random() < 0.04
        name, email = rng.choice(people)
        n = rng.randint(1000, 99999)
        template = rng.choice(NEWSLETTERS if newsletter else TOPICS)
        subject = template.format(
            n=n, company=rng.choice(COMPANIES).title(), w=rng.randint(1, 52), q=rng.randint(1, 4)
        )
        when = now - timedelta(seconds=rng.uniform(0, two_years))
        mime_ids: list[str] = []
        for i in range(count):
            is_draft = draft and i == count - 1
            is_sender = is_draft or (i % 2 == 1 if not outbound else i % 2 == 0)
            if newsletter or spam:
                is_sender = False
            if i:
                when = min(now, when + timedelta(seconds=rng.expovariate(1 / 20000)))
            cc = rng.choice(people) if rng.random() < 0.3 else None
            if is_sender:
                sender = (display_name, address)
                to = (name, email)
            else:
                sender = (name, email)
                to = (display_name, address)
            mime_id = f"{_uuid(rng)}@{sender[1].split('@')[1]}"
            plan.messages.append(
                Msg(
                    id=_uuid(rng),
                    thread_id=thread_id,
                    mailbox_id=mailbox_id,
                    mime_id=mime_id,
                    in_reply_to=mime_ids[-1] if mime_ids else "",
                    references=mime_ids[-10:],
                    subject=subject if i == 0 else f"Re: {subject}",
                    sender_name=sender[0],
                    sender_email=sender[1],
                    to_name=to[0],
                    to_email=to[1],
                    cc=cc,
                    received_at=when,
                    is_draft=is_draft,
                    is_sender=is_sender,
                    is_starred=starred and i == 0,
                    is_trashed=trashed,
                    is_spam=spam,
                    is_archived=archived and not is_sender,
                    html=newsletter or rng.random() < 0.2,
                    newsletter=newsletter,
                    attachments=rng.choice((1, 1, 2)) if rng.random() < 0.08 else 0,
                )
            )
            mime_ids.append(mime_id)
        plan.thread_rows.append((thread_id, subject, when))
        left -= count
    return plan


MESSAGE_COLUMNS = _words(
    "id thread_id mailbox_id mime_id in_reply_to references subject sender_name sender_email "
    "reply_to sent_at received_at headers snippet text_body html_body size raw_blob_id "
    "content_hash is_draft is_sender is_starred is_trashed is_spam is_archived trashed_at "
    "has_attachments is_malformed parse_errors created_at updated_at"
)
THREAD_COLUMNS = _words(
    "id mailbox_id subject snippet sender_names last_activity_at message_count inbox_count "
    "draft_count sent_count starred_count archived_count trashed_count spam_count all_count "
    "attachment_count created_at updated_at"
)


def load_plans(
    *, conn, plans: list[MailboxPlan], rng: random.Random, raw_blob_id: uuid.UUID,
    blobs: list[tuple[uuid.UUID, str, str, int]], unread_users: dict[uuid.UUID, list[uuid.UUID]],
    now: datetime,
) -> dict[str, int]:  # fmt: skip
    """COPY threads, messages, recipients, attachments and unread marks of every plan."""
    counts: dict[str, int] = {}
    with conn.cursor() as cursor:
        counts["threads"] = copy_rows(
            cursor,
            "mail_thread",
            THREAD_COLUMNS,
            (
                (tid, plan.mailbox_id, subject, "", "[]", when, *([0] * 10), when, when)
                for plan in plans
                for tid, subject, when in plan.thread_rows
            ),
        )

        def message_rows() -> Iterator[tuple]:
            for plan in plans:
                for m in plan.messages:
                    first = m.to_name.split(" ")[0] if not m.newsletter else "there"
                    paragraphs = _body(rng, f"Hello {first},", f"Best regards,\n{m.sender_name}")
                    text = "\n\n".join(paragraphs)
                    html = _html(paragraphs, m.newsletter, rng) if m.html else ""
                    headers = _headers(m, m.to_email, rng)
                    size = len(text) + len(html) + len(headers) + 400_000 * m.attachments
                    yield (
                        m.id, m.thread_id, m.mailbox_id, m.mime_id, m.in_reply_to,
                        json.dumps(m.references), m.subject, m.sender_name, m.sender_email,
                        "", m.received_at - timedelta(seconds=rng.randint(1, 90)), m.received_at,
                        headers, _snippet(text), text, html, size,
                        None if m.is_draft else raw_blob_id,
                        f"{rng.getrandbits(256):064x}",
                        m.is_draft, m.is_sender, m.is_starred, m.is_trashed, m.is_spam,
                        m.is_archived,
                        min(now, m.received_at + timedelta(days=3)) if m.is_trashed else None,
                        m.attachments > 0, False, "[]", m.received_at, m.received_at,
                    )  # fmt: skip

        counts["messages"] = copy_rows(cursor, "mail_message", MESSAGE_COLUMNS, message_rows())

        def recipient_rows() -> Iterator[tuple]:
            for plan in plans:
                for m in plan.messages:
                    status = "sent" if m.is_sender and not m.is_draft else ""
                    delivered = m.received_at if status else None
                    yield (m.id, "to", m.to_name, m.to_email, 0, status, "", 0, None, delivered)
                    if m.cc:
                        yield (m.id, "cc", m.cc[0], m.cc[1], 1, status, "", 0, None, delivered)

        counts["recipients"] = copy_rows(
            cursor,
            "mail_messagerecipient",
            [
                "message_id", "kind", "name", "email", "position", "delivery_status",
                "delivery_message", "retry_count", "retry_at", "delivered_at",
            ],
            recipient_rows(),
        )  # fmt: skip

        def attachment_rows() -> Iterator[tuple]:
            for plan in plans:
                for m in plan.messages:
                    for position in range(m.attachments):
                        blob_id, filename, content_type, size = rng.choice(blobs)
                        yield (
                            _uuid(rng), m.id, blob_id, filename, content_type, size, "", False,
                            position,
                        )  # fmt: skip

        counts["attachments"] = copy_rows(
            cursor,
            "mail_attachment",
            [
                "id", "message_id", "blob_id", "filename", "content_type", "size", "content_id",
                "is_inline", "position",
            ],
            attachment_rows(),
        )  # fmt: skip

        def unread_rows() -> Iterator[tuple]:
            for plan in plans:
                users = unread_users.get(plan.mailbox_id, [])
                for m in plan.messages:
                    if m.is_sender or m.is_draft:
                        continue
                    for user_id in users:
                        # Each user has their own unread mail: ~15% of the mailbox's messages.
                        if rng.random() < 0.25:
                            # Counted unless in the trash or spam (see UnreadMark.is_counted).
                            counted = not (m.is_trashed or m.is_spam)
                            yield (user_id, m.id, m.thread_id, m.mailbox_id, counted)

        counts["unread marks"] = copy_rows(
            cursor,
            "mail_unreadmark",
            ["user_id", "message_id", "thread_id", "mailbox_id", "is_counted"],
            unread_rows(),
        )
    return counts


@dataclass
class Fixture:
    shared_id: str
    personal_id: str
    other_id: str
    admin_email: str
    viewer_email: str
    label_id: str
    label_name: str
    label_threads: int
    thread_ids: list[str]


def _batched(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def generate(*, messages: int, seed: int, bench_url: str) -> Fixture:
    """Create the accounts through the services, then bulk-load the mail."""
    import psycopg
    from django.db import connection, transaction

    from facteur.blobs.services import blob_put
    from facteur.domains import services as domains
    from facteur.domains.models import MailboxKind, MailboxRole
    from facteur.mail.models import Thread, ThreadLabel
    from facteur.mail.services import labels, sharing
    from facteur.mail.services.threads import threads_refresh
    from facteur.users import services as users

    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    steps: list[tuple[str, float]] = []
    started = last = time.perf_counter()

    def step(name: str) -> None:
        nonlocal last
        at = time.perf_counter()
        steps.append((name, at - last))
        last = at

    domain = domains.domain_create(name=DOMAIN)
    other_domain = domains.domain_create(name=OTHER_DOMAIN)
    admin = users.user_create(email=f"alice@{DOMAIN}", password=PASSWORD, full_name="Alice Admin")
    viewer = users.user_create(email=f"bob@{DOMAIN}", password=PASSWORD, full_name="Bob Viewer")
    outsider = users.user_create(
        email=f"carol@{OTHER_DOMAIN}", password=PASSWORD, full_name="Carol Outsider"
    )
    domains.domain_admin_add(domain=domain, user=admin)
    shared = domains.mailbox_create(
        domain=domain, local_part="support", kind=MailboxKind.SHARED, display_name="Support"
    )
    personal = domains.mailbox_create(domain=domain, local_part="alice", display_name="Alice")
    other = domains.mailbox_create(domain=other_domain, local_part="sales", display_name="Sales")
    domains.access_grant(mailbox=shared, user=admin, role=MailboxRole.ADMIN)
    domains.access_grant(mailbox=shared, user=viewer, role=MailboxRole.VIEWER)
    domains.access_grant(mailbox=personal, user=admin, role=MailboxRole.ADMIN)
    domains.access_grant(mailbox=other, user=outsider, role=MailboxRole.ADMIN)
    raw_blob = blob_put(data=b"From: someone@example.net\r\nSubject: raw\r\n\r\nbody\r\n" * 20)
    blobs = []
    for filename, content_type, size in ATTACHMENT_KINDS:
        blob = blob_put(data=rng.randbytes(size))
        blobs.append((blob.id, filename, content_type, size))
    step("accounts and blobs (services)")

    plans = [
        plan_mailbox(
            rng=rng, mailbox_id=shared.id, address=f"support@{DOMAIN}", display_name="Support",
            messages=messages, now=now,
        ),
        plan_mailbox(
            rng=rng, mailbox_id=other.id, address=f"sales@{OTHER_DOMAIN}", display_name="Sales",
            messages=max(1, messages // 10), now=now,
        ),
        plan_mailbox(
            rng=rng, mailbox_id=personal.id, address=f"alice@{DOMAIN}", display_name="Alice",
            messages=max(1, messages // 100), now=now,
        ),
    ]  # fmt: skip
    step("plan in memory")

    unread_users = {
        shared.id: [admin.id, viewer.id],
        other.id: [outsider.id],
        personal.id: [admin.id],
    }
    with psycopg.connect(bench_url) as conn:
        counts = load_plans(
            conn=conn, plans=plans, rng=rng, raw_blob_id=raw_blob.id, blobs=blobs,
            unread_users=unread_users, now=now,
        )  # fmt: skip
        conn.commit()
    step("COPY threads, messages, recipients, attachments, unread marks")

    # Labels through the service, ~10% of the shared mailbox's threads labelled (some twice).
    label_rows = []
    shared_threads = [row[0] for row in plans[0].thread_rows]
    made = [
        (labels.label_create(mailbox_id=shared.id, name=name, color=color), weight)
        for name, color, weight in LABELS
    ]
    other_label = labels.label_create(mailbox_id=other.id, name="Leads")
    for thread_id in shared_threads:
        if rng.random() < 0.10:
            picked = {rng.choices([lab for lab, _ in made], [w for _, w in made])[0]}
            if rng.random() < 0.15:
                picked.add(rng.choice(made)[0])
            label_rows.extend(ThreadLabel(thread_id=thread_id, label=lab) for lab in picked)
    for tid, _, _ in plans[1].thread_rows[::10]:
        label_rows.append(ThreadLabel(thread_id=tid, label=other_label))
    ThreadLabel.objects.bulk_create(label_rows, batch_size=5000)
    step("labels")

    # Threads shared into the shared mailbox from the unrelated one, through the service.
    shared_in = rng.sample(
        [row[0] for row in plans[1].thread_rows], min(40, len(plans[1].thread_rows))
    )
    for thread in Thread.objects.filter(id__in=shared_in):
        sharing.thread_share(thread=thread, mailbox=shared, role="viewer", by_user_id=outsider.id)
    step("thread shares")

    all_threads = [row[0] for plan in plans for row in plan.thread_rows]
    for batch in _batched(all_threads, 5000):
        with transaction.atomic():
            threads_refresh(thread_ids=batch)
    step("threads_refresh (counters, snippets, senders)")

    connection.close()
    with psycopg.connect(bench_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    step("VACUUM ANALYZE")

    total = time.perf_counter() - started
    print(f"data generated in {total:.1f} s:")
    for name, seconds in steps:
        print(f"  {seconds:7.2f} s  {name}")
    print("  rows: " + ", ".join(f"{n:,} {what}" for what, n in counts.items()))
    print(f"  labelled thread rows: {len(label_rows):,}")
    busiest = max(made, key=lambda pair: pair[1])[0]
    return fixture_from_db(busiest.name)


def fixture_from_db(label_name: str = "Billing") -> Fixture:
    from facteur.domains.models import Mailbox
    from facteur.mail.models import Label, Thread, ThreadLabel

    shared = Mailbox.objects.get(domain__name=DOMAIN, local_part="support")
    personal = Mailbox.objects.get(domain__name=DOMAIN, local_part="alice")
    other = Mailbox.objects.get(domain__name=OTHER_DOMAIN, local_part="sales")
    label = Label.objects.get(mailbox=shared, name=label_name)
    thread_ids = [
        str(t) for t in Thread.objects.filter(mailbox=shared).values_list("id", flat=True)
    ]
    return Fixture(
        shared_id=str(shared.id),
        personal_id=str(personal.id),
        other_id=str(other.id),
        admin_email=f"alice@{DOMAIN}",
        viewer_email=f"bob@{DOMAIN}",
        label_id=str(label.id),
        label_name=label.name,
        label_threads=ThreadLabel.objects.filter(label=label).count(),
        thread_ids=sorted(thread_ids),
    )


def describe_database() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.local_part || '@' || d.name, "
            "(SELECT count(*) FROM mail_thread t WHERE t.mailbox_id = m.id), "
            "(SELECT count(*) FROM mail_message g WHERE g.mailbox_id = m.id) "
            "FROM domains_mailbox m JOIN domains_maildomain d ON d.id = m.domain_id ORDER BY 3 DESC"
        )
        for address, threads, messages in cursor.fetchall():
            print(f"  {address:<22} {threads:>8,} threads {messages:>9,} messages")
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"  database size: {cursor.fetchone()[0]}")


# --- the web worker -------------------------------------------------------------------------


class Server:
    """One gunicorn master with one sync worker, on the bench database."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.log = log_path.open("wb")
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        gunicorn = Path(sys.executable).parent / "gunicorn"
        command = [
            str(gunicorn) if gunicorn.exists() else str(ROOT / ".venv" / "bin" / "gunicorn"),
            "facteur.config.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", "1",
            "--timeout", "60",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 60) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.base}{API}/auth/config/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log_tail()}")

    def workers(self) -> list:  # type: ignore[type-arg]
        import psutil

        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def log_tail(self, lines: int = 40) -> str:
        self.log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class RssSampler(threading.Thread):
    """Samples the worker's RSS every ``interval`` seconds; keeps the peak of each phase."""

    def __init__(self, server: Server, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.interval = interval
        self.phase = "start"
        self.peaks: dict[str, int] = {}
        self.samples = 0
        self.worker_pids: set[int] = set()
        self._stop_event = threading.Event()

    @property
    def peak(self) -> int:
        return max(self.peaks.values(), default=0)

    def sample(self) -> int:
        import psutil

        rss = 0
        for worker in self.server.workers():
            try:
                rss = max(rss, worker.memory_info().rss)
                self.worker_pids.add(worker.pid)
            except psutil.NoSuchProcess:
                continue
        self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)
        return rss

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self.samples += 1
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


# --- the client ---------------------------------------------------------------------------


class BenchError(RuntimeError):
    pass


def login(base: str, email: str):  # type: ignore[no-untyped-def]
    import requests

    session = requests.Session()
    response = session.get(f"{base}{API}/auth/csrf/", timeout=10)
    response.raise_for_status()
    token = session.cookies["csrftoken"]
    response = session.post(
        f"{base}{API}/auth/login/",
        json={"email": email, "password": PASSWORD},
        headers={"X-CSRFToken": token, "Referer": f"{base}/"},
        timeout=30,
    )
    if response.status_code != 200:
        raise BenchError(f"login of {email} failed: {response.status_code} {response.text[:300]}")
    return session


def get_json(session, url: str) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response = session.get(url, timeout=60)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise BenchError(f"GET {url}: {response.status_code} {response.text[:300]}")
    return elapsed, response.json()


@dataclass
class Result:
    name: str
    timings: list[float]
    wall: float
    target: bool  # the 30 ms target applies
    note: str = ""
    rss_after: int = 0  # the worker's RSS right after the scenario, bytes

    def pct(self, q: float) -> float:
        ordered = sorted(self.timings)
        if len(ordered) == 1:
            return ordered[0]
        pos = (len(ordered) - 1) * q
        low = int(pos)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)

    @property
    def verdict(self) -> str:
        if not self.target:
            return "info"
        return "PASS" if self.pct(0.95) < LATENCY_TARGET_MS else "MISS"


def run_scenario(
    name: str, session, urls: Callable[[int], str], requests_n: int, *,  # type: ignore[no-untyped-def]
    check: Callable[[object], None] | None = None, target: bool = True, note: str = "",
) -> Result:  # fmt: skip
    warmup = max(3, requests_n // 10)
    for i in range(warmup):
        get_json(session, urls(-1 - i))
    timings = []
    started = time.perf_counter()
    for i in range(requests_n):
        elapsed, data = get_json(session, urls(i))
        timings.append(elapsed)
        if check is not None and i == 0:
            check(data)
    wall = time.perf_counter() - started
    return Result(name, timings, wall, target, note)


def _has_results(data: object) -> None:
    if not isinstance(data, dict) or not data.get("results"):
        raise BenchError(f"empty thread list: {str(data)[:200]}")


def run_scenarios(
    server: Server, sampler: RssSampler, fixture: Fixture, n: int, rng: random.Random
) -> list[Result]:
    # Logins hash the password with Argon2 (Django's default: 100 MiB of memory per hash).
    sampler.phase = "logins (Argon2 password check)"
    admin = login(server.base, fixture.admin_email)
    viewer = login(server.base, fixture.viewer_email)
    time.sleep(3 * sampler.interval)
    sampler.phase = "API scenarios"
    threads = f"{server.base}{API}/threads/"
    inbox = f"{threads}?mailbox={fixture.shared_id}&page_size=50"
    results: list[Result] = []

    def fixed(url: str) -> Callable[[int], str]:
        return lambda _i: url

    def scenario(name: str, session, urls: Callable[[int], str], **kwargs) -> None:  # type: ignore[no-untyped-def]
        result = run_scenario(name, session, urls, n, **kwargs)
        result.rss_after = sampler.sample()
        results.append(result)
        print(
            f"  {name:<34} p50 {result.pct(0.5):7.1f} ms  p95 {result.pct(0.95):7.1f} ms  "
            f"max {max(result.timings):7.1f} ms  worker RSS {result.rss_after / 2**20:6.1f} MB",
            flush=True,
        )

    scenario("thread list: inbox, page 1", admin, fixed(inbox), check=_has_results)
    # Follow the cursor ~20 pages down, then time that page.
    cursor_url, depth = inbox, 0
    for _ in range(20):
        _, data = get_json(admin, cursor_url)
        if not data["next_cursor"]:
            break
        cursor_url, depth = f"{inbox}&cursor={data['next_cursor']}", depth + 1
    scenario(f"thread list: inbox, page {depth + 1}", admin, fixed(cursor_url), check=_has_results)
    for view in ("sent", "starred", "archive", "trash", "spam", "drafts"):
        scenario(f"thread list: {view}", admin, fixed(f"{inbox}&view={view}"), check=_has_results)
    unread = fixed(f"{inbox}&unread=true")
    scenario("thread list: unread (admin)", admin, unread, check=_has_results)
    scenario("thread list: unread (viewer)", viewer, unread, check=_has_results)
    scenario(
        f"thread list: label {fixture.label_name}", admin,
        fixed(f"{inbox}&label={fixture.label_id}"), check=_has_results,
        note=f"{fixture.label_threads:,} threads labelled",
    )  # fmt: skip
    scenario(
        "thread list: all mailboxes", admin, fixed(f"{threads}?page_size=50"),
        check=_has_results, note="admin: shared + personal mailbox",
    )  # fmt: skip
    scenario("thread list: inbox (viewer)", viewer, fixed(inbox), check=_has_results)

    picks = [rng.choice(fixture.thread_ids) for _ in range(n + n // 10 + 3)]

    def random_thread(suffix: str) -> Callable[[int], str]:
        return lambda i: f"{threads}{picks[i]}/{suffix}"

    scenario("thread detail (random)", admin, random_thread(""))
    scenario("thread view: messages (random)", admin, random_thread("messages/"))
    scenario("thread view (viewer, random)", viewer, random_thread("messages/"))
    scenario(
        "mailbox list (with counts)", admin, fixed(f"{server.base}{API}/mailboxes/"),
        note="unread/total counts per mailbox",
    )  # fmt: skip
    return results


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, help="messages in the shared mailbox (100000)")
    parser.add_argument("--requests", type=int, help="timed requests per scenario (300)")
    parser.add_argument("--smoke", action="store_true", help="~2,000 messages, 30 requests")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--var-dir", type=Path, default=ROOT / "var" / "bench",
        help="data folder of the embedded PostgreSQL/Redis (when DATABASE_URL/REDIS_URL unset)",
    )  # fmt: skip
    parser.add_argument(
        "--reuse", action="store_true",
        help=f"keep the data of a previous run in {DB_NAME} when it has as many messages",
    )  # fmt: skip
    args = parser.parse_args()
    messages = args.messages or (2000 if args.smoke else 100_000)
    requests_n = args.requests or (30 if args.smoke else 300)

    server_url, bench_url = prepare_environment(args.var_dir.resolve())
    import django

    reuse = args.reuse and database_exists(server_url)
    if not reuse:
        recreate_database(server_url)
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from facteur.mail.models import Message

    fixture = None
    if reuse:
        call_command("migrate", verbosity=0)
        try:
            shared_count = Message.objects.filter(
                mailbox__local_part="support", mailbox__domain__name=DOMAIN
            ).count()
        except Exception:
            shared_count = -1
        if shared_count == messages:
            print(f"reusing {DB_NAME} ({shared_count:,} messages in the shared mailbox)")
            fixture = fixture_from_db()
        else:
            connection.close()
            recreate_database(server_url)
    if fixture is None:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"database {DB_NAME} created and migrated in {time.perf_counter() - started:.1f} s")
        fixture = generate(messages=messages, seed=args.seed, bench_url=bench_url)
    describe_database()
    connection.close()

    log_dir = args.var_dir.resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    server = Server(log_dir / "bench-api-gunicorn.log")
    sampler: RssSampler | None = None
    failed = False
    results: list[Result] = []
    try:
        server.wait_ready()
        sampler = RssSampler(server)
        idle = sampler.sample()
        sampler.start()
        print(
            f"gunicorn on {server.base}, 1 worker; "
            f"worker RSS at start {idle / 2**20:.1f} MB; "
            f"{requests_n} timed requests per scenario after {max(3, requests_n // 10)} warm-up"
        )
        print(f"machine: {os.cpu_count()} CPUs, load average {_load()} (other work skews latency)")
        results = run_scenarios(server, sampler, fixture, requests_n, random.Random(args.seed + 1))
    except Exception as exc:  # reported below, the bench fails
        failed = True
        print(f"ERROR: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"gunicorn log tail:\n{server.log_tail()}", file=sys.stderr)
    finally:
        if sampler is not None:
            sampler.stop()
        server.stop()

    if results:
        print_report(results, sampler, messages, requests_n)
        print(f"load average at the end: {_load()}")
    if sampler is not None and len(sampler.worker_pids) > 1:
        print(
            f"WARNING: the worker was replaced during the run (pids {sorted(sampler.worker_pids)})"
        )
        failed = True
    return 1 if failed else 0


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _key(name: str) -> str:
    return "_".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def print_report(results: list[Result], sampler: RssSampler | None, messages: int, n: int) -> None:
    width = max(len(r.name) for r in results)
    line = "-" * (width + 82)
    print()
    print(f"API latency, {messages:,} messages in the shared mailbox, {n} requests per scenario")
    print(line)
    print(
        f"{'scenario':<{width}}  {'p50':>6}  {'p95':>6}  {'p99':>6}  {'max':>6}  {'req/s':>6}  "
        f"{'RSS MB':>6}  {'<30ms':>5}  note"
    )
    print(line)
    for r in results:
        print(
            f"{r.name:<{width}}  {r.pct(0.5):6.1f}  {r.pct(0.95):6.1f}  {r.pct(0.99):6.1f}  "
            f"{max(r.timings):6.1f}  {len(r.timings) / r.wall:6.1f}  {r.rss_after / 2**20:6.1f}  "
            f"{r.verdict:>5}  {r.note}"
        )
    print(line)
    print(
        "(milliseconds, measured by the client over HTTP on 127.0.0.1, one request at a time; "
        "RSS MB: the worker's RSS after the scenario)"
    )
    print()
    for r in results:
        print(
            f"RESULT {_key(r.name)} p50={r.pct(0.5):.1f}ms p95={r.pct(0.95):.1f}ms "
            f"p99={r.pct(0.99):.1f}ms max={max(r.timings):.1f}ms "
            f"rps={len(r.timings) / r.wall:.1f} {r.verdict}"
        )
    if sampler is not None:
        print()
        print("peak RSS of the worker by phase:")
        for phase, rss in sampler.peaks.items():
            print(f"  {rss / 2**20:7.1f} MB  {phase}")
        peak = sampler.peak / 2**20
        verdict = "PASS" if peak < RSS_TARGET_MB else "MISS"
        print(
            f"RESULT worker_peak_rss={peak:.1f}MB (target < {RSS_TARGET_MB:.0f} MB, "
            f"{sampler.samples} samples every {sampler.interval * 1000:.0f} ms) {verdict}"
        )


if __name__ == "__main__":
    try:
        code = main()
    finally:
        from facteur.local.embedded import stop_all

        stop_all()  # the embedded PostgreSQL/Redis this run started, if any
    sys.exit(code)
