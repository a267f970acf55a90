"""Search: latency of ten query shapes for users with 1, 10 and 100 mailboxes, freshness,
index size, and the cost of indexing in ingest. PostgreSQL backend.

    .venv/bin/python bench/search.py                                 # 1,000,000 / 1,000
    .venv/bin/python bench/search.py --messages 200000 --mailboxes 200
    .venv/bin/python bench/search.py --smoke                         # CI, < 30 s

Mail is generated (Faker: French, English and German words drawn with a Zipf
law, people, companies, cities, file names) over five years, in threads of one
to four messages, with folders, stars and labels, and loaded with COPY rather
than through ingest; the search index is then built with the backend's own
indexing statement (the rate is printed). Each mailbox holds
messages/mailboxes messages, so a user with N mailboxes searches N times that.
Every shape runs ``--repeat`` times per user, with fresh words each time, through
``threads_search`` (parsing, the SQL, highlights), in one process on the same
machine as PostgreSQL.

Freshness: a message delivered through the real ``ingest_message`` is timed
from the start of its delivery until a search finds it. Ingest cost: messages
delivered through ``ingest_message`` with the time spent in the indexing step
measured apart.
"""

from __future__ import annotations

import argparse
import random
import time
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from _common import copy_rows, percentile, setup_django

DB_NAME = "facteur_bench_search"
LOCALES = {"fr_FR": 0.45, "en_US": 0.40, "de_DE": 0.15}
LABELS = ["Projets", "Clients", "Factures", "Personal", "Travel"]
EXTENSIONS = ["pdf", "pdf", "docx", "xlsx", "png", "jpg", "zip", "odt"]
YEARS = 5
SCOPES = (1, 10, 100)


@dataclass
class Vocabulary:
    """Per language: words in Zipf order, and people to write and receive mail."""

    words: dict[str, list[str]]
    weights: dict[str, list[float]]
    people: list[tuple[str, str]]  # (name, address)
    extras: dict[str, list[str]]  # companies and cities, rarer words

    @classmethod
    def build(cls, rng: random.Random) -> Vocabulary:
        from faker import Faker

        words, weights, extras, people = {}, {}, {}, []
        for locale in LOCALES:
            fake = Faker(locale)
            fake.seed_instance(rng.randint(0, 2**31))
            vocabulary = sorted(set(fake.get_words_list()))
            rng.shuffle(vocabulary)  # the list is alphabetical: any word may be common
            words[locale] = vocabulary
            cumulative, total = [], 0.0
            for rank in range(1, len(vocabulary) + 1):
                total += 1 / rank
                cumulative.append(total)
            weights[locale] = cumulative
            extras[locale] = [fake.company() for _ in range(300)] + [
                fake.city() for _ in range(300)
            ]
            for _ in range(1500):
                first, last = fake.first_name(), fake.last_name()
                local = _ascii(f"{first}.{last}").lower().replace(" ", "")
                people.append((f"{first} {last}", f"{local}@{_ascii(fake.domain_name())}"))
        return cls(words, weights, people, extras)

    def text(self, rng: random.Random, locale: str, count: int) -> str:
        chosen = rng.choices(self.words[locale], cum_weights=self.weights[locale], k=count)
        sentences, start = [], 0
        while start < len(chosen):
            end = start + rng.randint(6, 16)
            sentence = " ".join(chosen[start:end])
            sentences.append(sentence[:1].upper() + sentence[1:] + ".")
            start = end
        return " ".join(sentences)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


@dataclass
class Loaded:
    mailbox_ids: list[str]
    users: dict[int, object]  # scope size -> user id
    counts: dict[str, int]
    copy_seconds: float
    index_seconds: float


def load(*, messages: int, mailboxes: int, rng: random.Random, vocab: Vocabulary) -> Loaded:
    """Domain, mailboxes, users, then threads, messages, recipients, attachments and labels
    by COPY, mailbox by mailbox, and the search index by the backend's statement."""
    from django.db import connection

    from facteur.blobs.services import blob_put
    from facteur.domains.models import Mailbox, MailboxAccess
    from facteur.domains.services import domain_create
    from facteur.mail.models import Label
    from facteur.search.backends.postgres import INDEX_SQL
    from facteur.users.services import user_create

    domain = domain_create(name="search.bench")
    boxes = Mailbox.objects.bulk_create(
        Mailbox(domain=domain, local_part=f"box{i:04d}", display_name=f"Box {i}")
        for i in range(mailboxes)
    )
    users = {}
    for scope in SCOPES:
        user = user_create(email=f"user{scope}@people.bench")
        MailboxAccess.objects.bulk_create(
            MailboxAccess(mailbox=box, user=user, role="editor") for box in boxes[:scope]
        )
        users[scope] = user.pk
    labels = Label.objects.bulk_create(
        Label(mailbox=box, name=name) for box in boxes for name in LABELS
    )
    label_ids = {(str(label.mailbox_id), label.name): label.id for label in labels}
    raw = blob_put(data=b"From: bench\r\n\r\nraw message stand-in\r\n")
    attachment_blob = blob_put(data=b"%PDF-1.4 attachment stand-in")
    now = datetime.now(UTC)
    counts = {"threads": 0, "messages": 0, "recipients": 0, "attachments": 0, "labels": 0}
    copy_seconds = index_seconds = 0.0
    per_box = messages // mailboxes
    chunk = max(1, 20_000 // max(per_box, 1))  # mailboxes per COPY round
    for first in range(0, mailboxes, chunk):
        rows = _Rows()
        for box in boxes[first : first + chunk]:
            _mailbox_rows(rows, box, per_box, rng, vocab, now, label_ids)
        started = time.perf_counter()
        with connection.cursor() as django_cursor:
            cursor = django_cursor.cursor  # psycopg's own, for COPY
            copy_rows(cursor, "mail_thread", THREAD_COLUMNS, rows.threads)
            copy_rows(cursor, "mail_message", MESSAGE_COLUMNS, (
                (*m, raw.pk) for m in rows.messages))  # fmt: skip
            copy_rows(cursor, "mail_messagerecipient", RECIPIENT_COLUMNS, rows.recipients)
            copy_rows(cursor, "mail_attachment", ATTACHMENT_COLUMNS, (
                (*a, attachment_blob.pk) for a in rows.attachments))  # fmt: skip
            copy_rows(cursor, "mail_threadlabel", ["thread_id", "label_id"], rows.labels)
        copy_seconds += time.perf_counter() - started
        started = time.perf_counter()
        ids = [m[0] for m in rows.messages]
        with connection.cursor() as cursor:
            for start in range(0, len(ids), 2000):
                cursor.execute(INDEX_SQL, {"ids": [str(i) for i in ids[start : start + 2000]]})
        index_seconds += time.perf_counter() - started
        for key, value in rows.counts().items():
            counts[key] += value
        print(f"  loaded {counts['messages']:,} messages", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return Loaded([str(b.pk) for b in boxes], users, counts, copy_seconds, index_seconds)


THREAD_COLUMNS = [
    "id", "mailbox_id", "subject", "snippet", "sender_names", "last_activity_at",
    "message_count", "inbox_count", "draft_count", "sent_count", "starred_count",
    "archived_count", "trashed_count", "spam_count", "all_count", "attachment_count",
    "created_at", "updated_at",
]  # fmt: skip
MESSAGE_COLUMNS = [
    "id", "thread_id", "mailbox_id", "mime_id", "in_reply_to", "references", "subject",
    "sender_name", "sender_email", "reply_to", "sent_at", "received_at", "headers", "snippet",
    "text_body", "html_body", "size", "content_hash", "is_draft", "is_sender", "is_starred",
    "is_trashed", "is_spam", "is_archived", "trashed_at", "has_attachments", "is_malformed",
    "parse_errors", "created_at", "updated_at", "raw_blob_id",
]  # fmt: skip
RECIPIENT_COLUMNS = [
    "message_id", "kind", "name", "email", "position", "delivery_status", "delivery_message",
    "retry_count",
]  # fmt: skip
ATTACHMENT_COLUMNS = [
    "id", "message_id", "filename", "content_type", "size", "content_id", "is_inline",
    "position", "blob_id",
]  # fmt: skip


class _Rows:
    def __init__(self) -> None:
        self.threads: list[tuple] = []
        self.messages: list[tuple] = []
        self.recipients: list[tuple] = []
        self.attachments: list[tuple] = []
        self.labels: list[tuple] = []

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in vars(self).items()}


def _mailbox_rows(rows, box, count, rng, vocab, now, label_ids) -> None:  # type: ignore[no-untyped-def]
    own = (box.display_name, f"{box.local_part}@search.bench")
    made = 0
    while made < count:
        size = min(count - made, 1 + int(rng.expovariate(1.2)) % 4)
        locale = rng.choices(list(LOCALES), weights=list(LOCALES.values()))[0]
        thread_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        subject = vocab.text(rng, locale, rng.randint(3, 7)).rstrip(".")
        when = now - timedelta(seconds=rng.uniform(0, YEARS * 365 * 86400))
        correspondent = rng.choice(vocab.people)
        last = when
        for i in range(size):
            last = when + timedelta(hours=i * rng.uniform(1, 48))
            is_sender = rng.random() < 0.15
            sender, recipient = (own, correspondent) if is_sender else (correspondent, own)
            body = "\n\n".join(
                [
                    f"{sender[0].split()[0]},",
                    vocab.text(rng, locale, rng.randint(40, 250)),
                    f"{rng.choice(vocab.extras[locale])}, {rng.choice(vocab.extras[locale])}.",
                    sender[0],
                ]
            )
            attachments = (rng.random() < 0.2) + (rng.random() < 0.05)
            flags = rng.random()
            trashed, spam = flags < 0.03, 0.03 <= flags < 0.05
            archived = 0.05 <= flags < 0.15
            message_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            rows.messages.append((
                message_id, thread_id, box.pk, f"{message_id}@bench", "", "[]",
                ("Re: " if i else "") + subject, sender[0], sender[1], "", last, last, "[]",
                body[:200], body, "", len(body) + 600 + 80_000 * attachments,
                f"{rng.getrandbits(256):064x}", False, is_sender, rng.random() < 0.05,
                trashed, spam, archived, last if trashed else None, attachments > 0, False,
                "[]", last, last,
            ))  # fmt: skip
            rows.recipients.append((message_id, "to", recipient[0], recipient[1], 0, "", "", 0))
            if rng.random() < 0.2:
                cc = rng.choice(vocab.people)
                rows.recipients.append((message_id, "cc", cc[0], cc[1], 1, "", "", 0))
            for position in range(attachments):
                name = "-".join(rng.choices(vocab.words[locale], k=2))
                filename = f"{name}.{rng.choice(EXTENSIONS)}"
                rows.attachments.append((
                    uuid.UUID(int=rng.getrandbits(128), version=4), message_id, filename,
                    "application/octet-stream", 80_000, "", False, position,
                ))  # fmt: skip
        rows.threads.append(
            (thread_id, box.pk, subject, "", "[]", last, size, *([0] * 9), last, last)
        )
        if rng.random() < 0.1:
            rows.labels.append((thread_id, label_ids[(str(box.pk), rng.choice(LABELS))]))
        made += size


def shapes(rng: random.Random, vocab: Vocabulary) -> dict[str, callable]:
    """The ten query shapes; each call gives a fresh query of that shape."""

    def word(low: int, high: int) -> str:
        locale = rng.choices(list(LOCALES), weights=list(LOCALES.values()))[0]
        return vocab.words[locale][rng.randint(low, high)]

    def day(years_ago: float) -> str:
        return (datetime.now(UTC) - timedelta(days=365 * years_ago)).strftime("%Y-%m-%d")

    def last_name() -> str:
        return rng.choice(vocab.people)[0].split()[-1]

    def phrase() -> str:
        # Two neighbours in a sentence written the way the mail was: such pairs occur.
        locale = rng.choices(list(LOCALES), weights=list(LOCALES.values()))[0]
        words = vocab.text(rng, locale, 12).rstrip(".").lower().split()
        at = rng.randrange(len(words) - 1)
        return f'"{words[at]} {words[at + 1]}"'

    return {
        "single word": lambda: word(100, 400),
        "common word": lambda: word(0, 2),
        "phrase": phrase,
        "from:": lambda: f"from:{last_name()}",
        "combined filters": lambda: f"{word(10, 100)} has:attachment in:inbox after:{day(2)}",
        "negation": lambda: f"{word(0, 5)} -{word(20, 60)}",
        "date range": lambda: f"after:{day(3)} before:{day(2.75)}",
        "has:attachment": lambda: "has:attachment",
        "label/in:": lambda: f"label:{rng.choice(LABELS)} in:inbox",
        "no hit": lambda: "zq" + "".join(rng.choices("bcdfghjklmnpqrstvwxz", k=8)),
    }


def measure_queries(loaded: Loaded, rng: random.Random, vocab: Vocabulary, repeat: int) -> None:
    from facteur.search.selectors import threads_search

    print(f"\nquery latency over {repeat} queries per cell (ms, p50 / p95), 50 threads a page:")
    scopes = [s for s in SCOPES if s <= len(loaded.mailbox_ids)]
    header = "".join(f"{f'{s} mailbox(es)':>22}" for s in scopes)
    print(f"{'shape':<18}{header}{'hits (last)':>13}")
    for name, make in shapes(rng, vocab).items():
        cells, hits = [], 0
        for scope in scopes:
            boxes = loaded.mailbox_ids[:scope]
            user = loaded.users[scope]
            for _ in range(2):  # warm the plan and the caches
                threads_search(user_id=user, mailbox_ids=boxes, text=make())
            times = []
            for _ in range(repeat):
                text = make()
                started = time.perf_counter()
                results = threads_search(user_id=user, mailbox_ids=boxes, text=text)
                times.append((time.perf_counter() - started) * 1000)
                hits = len(results.hits)
            times.sort()
            cells.append(f"{percentile(times, 0.5):>10.1f} / {percentile(times, 0.95):>7.1f}")
        print(f"{name:<18}{''.join(f'{c:>22}' for c in cells)}{hits:>13}")


def raw_message(rng: random.Random, vocab: Vocabulary, to: str, marker: str = "") -> bytes:
    mail = EmailMessage()
    sender = rng.choice(vocab.people)
    mail["From"] = f"{sender[0]} <{sender[1]}>"
    mail["To"] = to
    mail["Subject"] = vocab.text(rng, "fr_FR", 5).rstrip(".")
    mail["Message-ID"] = f"<{uuid.uuid4()}@bench>"
    mail.set_content(vocab.text(rng, "fr_FR", 400) + (f"\n\n{marker}\n" if marker else ""))
    return bytes(mail)


def measure_freshness(loaded: Loaded, rng: random.Random, vocab: Vocabulary, count: int) -> None:
    """Deliver through ingest, then search until found: the time a user waits."""
    from facteur.ingest.services import ingest_message
    from facteur.search.selectors import threads_search

    times = []
    for _ in range(count):
        marker = "fresh" + uuid.uuid4().hex[:10]
        raw = raw_message(rng, vocab, "box0000@search.bench", marker)
        started = time.perf_counter()
        ingest_message(raw=raw, recipients=["box0000@search.bench"])
        while not threads_search(
            user_id=loaded.users[1], mailbox_ids=loaded.mailbox_ids[:1], text=marker
        ).hits:
            time.sleep(0.001)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(
        f"\nfreshness (delivery start -> found by a search), {count} messages: "
        f"p50 {percentile(times, 0.5):.1f} ms, max {times[-1]:.1f} ms"
    )


def measure_ingest_cost(rng: random.Random, vocab: Vocabulary, count: int) -> None:
    """Ingest ``count`` messages and time the search indexing step inside it."""
    from facteur.ingest import services

    indexing = [0.0]
    index = services._index_for_search

    def timed(message_ids: list) -> None:  # type: ignore[type-arg]
        started = time.perf_counter()
        index(message_ids)
        indexing[0] += time.perf_counter() - started

    services._index_for_search = timed  # the real step, timed (gathered by identity)
    raws = [raw_message(rng, vocab, "box0001@search.bench") for _ in range(count)]
    try:
        started = time.perf_counter()
        for raw in raws:
            services.ingest_message(raw=raw, recipients=["box0001@search.bench"])
        total = time.perf_counter() - started
    finally:
        services._index_for_search = index
    size = sum(len(r) for r in raws) / count / 1000
    per, spent = total / count * 1000, indexing[0] / count * 1000
    print(
        f"\ningest of {count} messages (~{size:.1f} KB): {per:.2f} ms per message, of which "
        f"search indexing {spent:.2f} ms ({spent / (per - spent) * 100:.0f}% slowdown)"
    )


def report_sizes(loaded: Loaded) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size('search_messagedocument'),"
            " pg_relation_size('search_document_gin'),"
            " pg_total_relation_size('mail_message')"
        )
        total, gin, messages = cursor.fetchone()
    n = loaded.counts["messages"]
    print(
        f"\nindex size: {total / 1e6:,.0f} MB for {n:,} messages ({total / n:,.0f} B each), "
        f"of which GIN {gin / 1e6:,.0f} MB; the messages table {messages / 1e6:,.0f} MB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--mailboxes", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=40, help="queries per shape and scope")
    parser.add_argument("--smoke", action="store_true", help="3,000 messages in 100 mailboxes")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.smoke:
        args.messages, args.mailboxes, args.repeat = 3_000, 100, 3
    rng = random.Random(args.seed)
    setup_django(database=DB_NAME)
    vocab = Vocabulary.build(rng)
    print(f"generating and loading {args.messages:,} messages in {args.mailboxes:,} mailboxes")
    loaded = load(messages=args.messages, mailboxes=args.mailboxes, rng=rng, vocab=vocab)
    n = loaded.counts["messages"]
    print(
        f"loaded {loaded.counts}: COPY {loaded.copy_seconds:.1f} s; search index built in "
        f"{loaded.index_seconds:.1f} s ({n / loaded.index_seconds:,.0f} messages/s)"
    )
    report_sizes(loaded)
    measure_queries(loaded, rng, vocab, args.repeat)
    measure_freshness(loaded, rng, vocab, 5 if args.smoke else 30)
    measure_ingest_cost(rng, vocab, 20 if args.smoke else 500)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
