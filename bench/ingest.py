"""Ingest throughput: realistic ~20 KB messages parsed and stored in PostgreSQL, one process.

    .venv/bin/python bench/ingest.py              # 10,000 messages
    .venv/bin/python bench/ingest.py --count 50000
    .venv/bin/python bench/ingest.py --smoke      # ~200 messages, for CI
    .venv/bin/python bench/ingest.py --parsers    # parser CPU only, no database

The corpus is generated as the run goes (in chunks, outside the timed calls),
so memory measures ingest and not the corpus: multipart/alternative text and
HTML in quoted-printable UTF-8, a few attachments, conversations whose replies
carry In-Reply-To/References and quote their parent, a shared mailbox in Cc
now and then, and the mailbox's own sent copies. Prints messages/s, latency
percentiles per message, queries per message and resident memory over the run.
"""

from __future__ import annotations

import argparse
import base64
import os
import quopri
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from _common import peak_rss_mb, percentile, rss_mb, setup_django

DOMAIN = "bench.test"
LOCAL_USERS = [f"user{i:02d}" for i in range(10)]
SHARED = ["support", "sales"]


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words("Alice Bruno Chloé Damien Élodie François Gaëlle Hugo Inès Jérôme Karim Léa Manon")
LAST = _words("Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Müller")
WORDS = _words(
    "the budget review meeting project deadline report invoice contract proposal draft "
    "customer delivery schedule quarter figures update question answer team planning "
    "réunion projet échéance facture contrat proposition équipe planning trimestre "
    "livraison client prévisions résultats budget suivi décision validation été café"
)
TOPICS = [
    "Budget review Q3",
    "Contract renewal for ACME",
    "Planning the spring release",
    "Réunion de suivi projet Atlas",
    "Invoice 2025-0412 overdue",
    "Delivery schedule for week 14",
    "Proposition commerciale révisée",
    "Onboarding of the new team members",
    "Security audit findings",
    "Offsite logistics",
]


@dataclass
class Conversation:
    topic: str
    local: str
    external: tuple[str, str]
    cc_shared: str | None
    ids: list[str] = field(default_factory=list)
    last_text: str = ""
    remaining: int = 1


class Corpus:
    """A stream of messages in arrival order; conversations interleave like a real inbox."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.people = [
            (f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}", f"person{i}@corp{i % 40}.example")
            for i in range(400)
        ]
        self.active: list[Conversation] = []
        self.clock = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
        self.sequence = 0
        self.conversations = 0
        self.expected_threads = 0  # one per conversation and mailbox it reaches

    def __iter__(self) -> Iterator[tuple[bytes, list[str], datetime]]:
        while True:
            yield self.next()

    def next(self) -> tuple[bytes, list[str], datetime]:
        rng = self.rng
        self.clock += timedelta(seconds=rng.randrange(1, 90))
        self.sequence += 1
        if not self.active or rng.random() < 0.35:
            conversation = Conversation(
                topic=rng.choice(TOPICS) + f" #{rng.randrange(1000)}",
                local=rng.choice(LOCAL_USERS),
                external=rng.choice(self.people),
                cc_shared=rng.choice(SHARED) if rng.random() < 0.1 else None,
                remaining=min(12, int(rng.expovariate(1 / 3)) + 1),
            )
            self.conversations += 1
            self.expected_threads += 2 if conversation.cc_shared else 1
            self.active.append(conversation)
            if len(self.active) > 200:
                self.active.pop(0)
        else:
            conversation = rng.choice(self.active)
        raw, recipients = self._message(conversation)
        conversation.remaining -= 1
        if conversation.remaining <= 0:
            self.active.remove(conversation)
        return raw, recipients, self.clock

    def _message(self, c: Conversation) -> tuple[bytes, list[str]]:
        rng = self.rng
        local_address = f"{c.local}@{DOMAIN}"
        # A third of the replies are the mailbox's own, delivered back to it (Bcc to self).
        from_local = bool(c.ids) and rng.random() < 0.3
        if from_local:
            sender, to = (c.local.title(), local_address), c.external
            recipients = [local_address]
        else:
            sender, to = c.external, (c.local.title(), local_address)
            recipients = [local_address]
        mime_id = f"{self.sequence}.{rng.getrandbits(48):x}@{sender[1].split('@')[1]}"
        subject = ("Re: " if c.ids else "") + c.topic
        text = self._paragraphs(rng.randrange(12, 26))
        if c.last_text:
            text += "\n\nOn a previous day, someone wrote:\n" + "\n".join(
                "> " + line for line in c.last_text.splitlines()[:24]
            )
        html = "<html><head><style>p{font-family:Arial;font-size:14px;color:#222}</style>"
        html += "</head><body>" + "".join(
            f'<p style="margin:0 0 12px 0">{p}</p>' for p in text.split("\n\n")
        )
        html += '<table width="100%"><tr><td style="color:#888">Sent from Bench Mail</td>'
        html += "</tr></table></body></html>"
        headers = [
            f"Received: from mx{i}.corp.example (mx{i}.corp.example [192.0.2.{i}]) by "
            f"mx.{DOMAIN} (Postfix) with ESMTPS id {rng.getrandbits(40):X}; "
            f"{format_datetime(self.clock)}"
            for i in range(rng.randrange(2, 5))
        ]
        headers.append(
            "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=corp.example; s=sel1;\r\n"
            " h=from:to:subject:date:message-id;\r\n"
            f" bh={base64.b64encode(rng.randbytes(32)).decode()};\r\n"
            f" b={base64.b64encode(rng.randbytes(256)).decode()}"
        )
        headers += [
            f'From: "{sender[0]}" <{sender[1]}>',
            f'To: "{to[0]}" <{to[1]}>',
        ]
        if c.cc_shared:
            headers.append(f"Cc: {c.cc_shared}@{DOMAIN}")
            if not from_local:
                recipients.append(f"{c.cc_shared}@{DOMAIN}")
        headers += [f"Subject: {_encode_subject(subject)}", f"Date: {format_datetime(self.clock)}"]
        headers.append(f"Message-ID: <{mime_id}>")
        if c.ids:
            headers.append(f"In-Reply-To: <{c.ids[-1]}>")
            headers.append("References: " + " ".join(f"<{i}>" for i in c.ids[-10:]))
        headers += ["MIME-Version: 1.0", "X-Mailer: Bench Mail 1.0"]
        alternative = _multipart(
            "alternative",
            [
                _qp_part("text/plain", text),
                _qp_part("text/html", html),
            ],
        )
        if rng.random() < 0.12:
            attachment = _base64_part(
                "application/pdf",
                f"{c.topic.split()[0].lower()}-{self.sequence}.pdf",
                rng.randbytes(rng.randrange(6_000, 30_000)),
            )
            body = _multipart("mixed", [alternative, attachment])
        else:
            body = alternative
        c.ids.append(mime_id)
        c.last_text = text
        return ("\r\n".join(headers) + "\r\n" + body).encode(), recipients

    def _paragraphs(self, sentences: int) -> str:
        rng = self.rng
        out, paragraph = [], []
        for _ in range(sentences):
            words = [rng.choice(WORDS) for _ in range(rng.randrange(12, 28))]
            paragraph.append(" ".join(words).capitalize() + ".")
            if rng.random() < 0.25:
                out.append(" ".join(paragraph))
                paragraph = []
        out.append(" ".join(paragraph))
        return "\n\n".join(p for p in out if p)


def _encode_subject(subject: str) -> str:
    if subject.isascii():
        return subject
    return f"=?utf-8?b?{base64.b64encode(subject.encode()).decode()}?="


def _qp_part(kind: str, text: str) -> str:
    encoded = quopri.encodestring(text.replace("\n", "\r\n").encode()).decode()
    return (
        f"Content-Type: {kind}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + encoded
    )


def _base64_part(kind: str, filename: str, data: bytes) -> str:
    encoded = base64.encodebytes(data).decode().replace("\n", "\r\n")
    return (
        f'Content-Type: {kind}; name="{filename}"\r\n'
        f'Content-Disposition: attachment; filename="{filename}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n" + encoded
    )


_boundaries = iter(range(10**12))


def _multipart(subtype: str, parts: list[str]) -> str:
    boundary = f"=_bench_{next(_boundaries):x}_="
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts)
    return (
        f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n{body}--{boundary}--\r\n'
    )


def create_mailboxes() -> None:
    from facteur.domains.services import access_grant, domain_create, mailbox_create
    from facteur.users.services import user_create

    domain = domain_create(name=DOMAIN)
    users = []
    for local in LOCAL_USERS:
        user = user_create(email=f"{local}@people.test")
        access_grant(
            mailbox=mailbox_create(domain=domain, local_part=local), user=user, role="admin"
        )
        users.append(user)
    for local in SHARED:
        mailbox = mailbox_create(domain=domain, local_part=local, kind="shared")
        for user in users[:4]:
            access_grant(mailbox=mailbox, user=user, role="editor")


def count_queries(corpus: Corpus, n: int) -> float:
    """Average SQL statements per message over ``n`` messages (apart from the timed run)."""
    from django.db import connection

    from facteur.ingest.services import ingest_message

    executed = 0

    def counter(execute, sql, params, many, context):
        nonlocal executed
        executed += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        for _ in range(n):
            raw, recipients, at = corpus.next()
            ingest_message(raw=raw, recipients=recipients, received_at=at)
    return executed + n  # + the COMMIT of each message, which no wrapper sees


class Workers:
    """Threads that ingest a chunk of messages in parallel, each on its own connection
    (as the delivery service's concurrent LMTP sessions would); one worker is sequential."""

    def __init__(self, count: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.count = count
        self.pool = ThreadPoolExecutor(count) if count > 1 else None
        self.backend_pids: set[int] = set()
        self.retries = 0

    def run(self, batch: list[tuple[bytes, list[str], datetime]]) -> list[tuple[float, list]]:
        if self.pool is None:
            return [self._one(item) for item in batch]
        return list(self.pool.map(self._one, batch))

    def _one(self, item: tuple[bytes, list[str], datetime]) -> tuple[float, list]:
        from django.db import OperationalError, connection

        from facteur.ingest.services import ingest_message

        raw, recipients, at = item
        started = time.perf_counter()
        try:
            result = ingest_message(raw=raw, recipients=recipients, received_at=at)
        except OperationalError:  # a deadlock between workers: the MTA would retry
            self.retries += 1
            result = ingest_message(raw=raw, recipients=recipients, received_at=at)
        elapsed = time.perf_counter() - started
        self.backend_pids.add(connection.connection.info.backend_pid)
        return elapsed, result.recipients

    def close(self) -> None:
        if self.pool is not None:
            from django.db import connections

            self.pool.submit(connections.close_all).result()
            self.pool.shutdown()


def cpu_seconds(pids: set[int]) -> float:
    """User + system CPU of this process's PostgreSQL backends so far."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def compare_parsers(count: int, seed: int) -> None:
    """CPU per message of each way to parse the corpus (no database): the parser choice."""
    import email
    from email import policy

    import fast_mail_parser

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "backend"))
    from facteur.ingest.parse import parse_message

    def stdlib_default(raw: bytes) -> None:
        message = email.message_from_bytes(raw, policy=policy.default)
        for kind in ("plain", "html"):
            body = message.get_body((kind,))
            if body is not None:
                body.get_content()
        for attachment in message.iter_attachments():
            attachment.get_content()
        for name in ("From", "To", "Cc", "Subject", "Date", "Message-ID"):
            str(message.get(name, ""))

    def stdlib_compat32(raw: bytes) -> None:
        message = email.message_from_bytes(raw, policy=policy.compat32)
        for part in message.walk():
            if not part.is_multipart():
                part.get_payload(decode=True)

    def fmp_full(raw: bytes) -> None:
        fast_mail_parser.parse_email(raw)

    def fmp_tree_and_metadata(raw: bytes) -> None:
        tree = fast_mail_parser.parse_email_tree(raw, mode="lazy")
        for part in fast_mail_parser.walk(tree):
            part.content  # noqa: B018 - decoding is the cost measured
        fast_mail_parser.parse_email(raw, mode="metadata")

    corpus = Corpus(seed)
    messages = [corpus.next()[0] for _ in range(count)]
    print(f"{count} messages, average {sum(map(len, messages)) / count / 1024:.1f} KB")
    for name, parse in (
        ("stdlib email, policy.default (bodies, attachments, headers)", stdlib_default),
        ("stdlib email, policy.compat32 (walk, decode every part)", stdlib_compat32),
        ("fast-mail-parser parse_email (flat, full)", fmp_full),
        ("fast-mail-parser tree (lazy, all leaves read) + metadata", fmp_tree_and_metadata),
        ("facteur parse_message (all of the above that ingest needs)", parse_message),
    ):
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            for raw in messages:
                parse(raw)
            best = min(best, time.process_time() - started)
        per_message = best / count
        print(f"  {name:62s} {per_message * 1e6:7.0f} us  {1 / per_message:6.0f} msg/s/core")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--smoke", action="store_true", help="about 200 messages, for CI")
    parser.add_argument("--workers", type=int, default=1, help="threads ingesting in parallel")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--parsers", action="store_true", help="only compare parsers on the corpus (no database)"
    )
    args = parser.parse_args()
    count = 200 if args.smoke else args.count
    if args.parsers:
        compare_parsers(min(count, 2000), args.seed)
        return 0

    setup_django(database="facteur_bench")
    from django.db import connection

    from facteur.ingest.services import Outcome
    from facteur.mail.models import Message, Thread

    create_mailboxes()
    corpus = Corpus(args.seed)
    statements = count_queries(corpus, 50) / 50  # also warms up the connection and caches
    workers = Workers(args.workers)
    workers.backend_pids.add(connection.connection.info.backend_pid)

    chunk = 250
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    sizes: list[int] = []
    rss_samples: list[tuple[int, float]] = [(0, rss_mb())]
    sample_every = max(chunk, count // 20)
    load_before = os.getloadavg()[0]
    busy = python_cpu = pg_cpu = 0.0
    done = 0
    while done < count:
        batch = [corpus.next() for _ in range(min(chunk, count - done))]  # not timed
        sizes += [len(raw) for raw, _, _ in batch]
        cpu0, pg0, wall0 = (
            time.process_time(),
            cpu_seconds(workers.backend_pids),
            time.perf_counter(),
        )
        for elapsed, recipients in workers.run(batch):
            latencies.append(elapsed)
            for r in recipients:
                outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
        busy += time.perf_counter() - wall0
        python_cpu += time.process_time() - cpu0
        pg_cpu += cpu_seconds(workers.backend_pids) - pg0
        done += len(batch)
        del batch
        if done % sample_every < chunk or done == count:
            rss_samples.append((done, rss_mb()))
    workers.close()
    load_after = os.getloadavg()[0]

    latencies.sort()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        db_size = cursor.fetchone()[0]
    warm = rss_samples[min(2, len(rss_samples) - 1)]
    print(f"corpus: {count} messages, average {sum(sizes) / len(sizes) / 1024:.1f} KB "
          f"(min {min(sizes) / 1024:.1f}, max {max(sizes) / 1024:.1f}), "
          f"{corpus.conversations} conversations started")  # fmt: skip
    threads = Thread.objects.count()
    print(f"stored: {Message.objects.count()} message copies in {threads} threads"
          f" ({corpus.expected_threads} expected);"
          f" outcomes {dict(sorted((str(k), v) for k, v in outcomes.items()))};"
          f" database {db_size}")  # fmt: skip
    retried = f", {workers.retries} retried after a deadlock" if workers.retries else ""
    print(f"throughput: {count / busy:.0f} messages/s with {args.workers} worker(s), "
          f"{busy:.1f} s in ingest (corpus generation excluded){retried}")  # fmt: skip
    print("latency per message: "
          + ", ".join(f"p{int(p * 100)} {percentile(latencies, p) * 1000:.2f} ms"
                      for p in (0.5, 0.95, 0.99))
          + f", max {latencies[-1] * 1000:.1f} ms")  # fmt: skip
    print(f"CPU per message: Python {python_cpu / count * 1e6:.0f} us, "
          f"PostgreSQL backend {pg_cpu / count * 1e6:.0f} us; "
          f"load average {load_before:.2f} before, {load_after:.2f} after "
          f"on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"SQL statements per message: {statements:.1f} (over 50 messages, COMMIT included)")
    print("RSS (MB) by messages ingested: "
          + ", ".join(f"{n}: {mb:.0f}" for n, mb in rss_samples))  # fmt: skip
    print(f"RSS growth after warm-up ({warm[0]} messages): {rss_samples[-1][1] - warm[1]:+.1f} MB;"
          f" peak RSS {peak_rss_mb():.0f} MB")  # fmt: skip
    # Sequential delivery must thread exactly; parallel workers may split a reply that
    # races its parent (both see neither), as concurrent LMTP sessions could.
    misthreaded = args.workers == 1 and threads != corpus.expected_threads
    failed = outcomes.get(Outcome.UNKNOWN_RECIPIENT, 0) or len(latencies) != count
    return 1 if failed or misthreaded else 0


if __name__ == "__main__":
    sys.exit(main())
