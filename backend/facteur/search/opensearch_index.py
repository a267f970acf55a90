"""The OpenSearch index: its template, the documents, bulk writes and the reindex.

Searches and writes go through an alias (``<prefix>-messages``) that names one
versioned index (``<prefix>-messages-<UTC timestamp>``); ``reindex`` fills a new
one and swaps the alias in one ``_aliases`` call, so searches never see a half
index. Documents hold the text of ``search.extraction`` (one definition for both
backends) and the attributes the operators filter on: flags and folders, labels
(of the thread), the users for whom the message is unread, dates and size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from opensearchpy import NotFoundError, OpenSearch

from facteur.search.extraction import CUT, all_message_ids, extracts, message_count

BATCH = 500  # messages per bulk request
WRITE_TIMEOUT = 60  # seconds a bulk request or an index operation may take

_ELISIONS = ["l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"]
ANALYSIS = {
    "filter": {
        "facteur_elision": {"type": "elision", "articles_case": True, "articles": _ELISIONS},
        "facteur_french_stem": {"type": "stemmer", "language": "light_french"},
        "facteur_english_stem": {"type": "stemmer", "language": "english"},
        "facteur_possessive": {"type": "stemmer", "language": "possessive_english"},
    },
    "analyzer": {
        # Unaccented, no stemming: names, addresses, words of any language.
        "facteur_folded": {"tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
        "facteur_french": {
            "tokenizer": "standard",
            "filter": ["facteur_elision", "lowercase", "asciifolding", "facteur_french_stem"],
        },
        "facteur_english": {
            "tokenizer": "standard",
            "filter": ["facteur_possessive", "lowercase", "asciifolding", "facteur_english_stem"],
        },
    },
    "normalizer": {"facteur_folded": {"filter": ["lowercase", "asciifolding"]}},
}
_LANGUAGES = {
    "fr": {"type": "text", "analyzer": "facteur_french"},
    "en": {"type": "text", "analyzer": "facteur_english"},
}
_FOLDED = {"type": "text", "analyzer": "facteur_folded"}
_KEYWORD = {"type": "keyword"}
_FLAG = {"type": "boolean"}
FLAGS = ("is_sender", "is_draft", "is_starred", "is_archived", "is_trashed", "is_spam")
MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        # Every searchable text is copied into "content", which free words search.
        "content": {**_FOLDED, "fields": _LANGUAGES},
        "subject": {**_FOLDED, "fields": _LANGUAGES, "copy_to": "content"},
        "participants": {**_FOLDED, "copy_to": "content"},
        "body": {**_FOLDED, "fields": _LANGUAGES, "copy_to": "content"},
        "attachments": {**_FOLDED, "copy_to": "content"},
        # from: / to: / cc: / bcc: (names and addresses cut as in extraction)
        "sender": _FOLDED,
        "to": _FOLDED,
        "cc": _FOLDED,
        "bcc": _FOLDED,
        "filenames": {"type": "keyword", "normalizer": "facteur_folded"},
        "mailbox_id": _KEYWORD,
        "thread_id": _KEYWORD,
        "labels": _KEYWORD,
        "unread_by": _KEYWORD,
        "received_at": {"type": "date"},
        "size": {"type": "long"},
        "has_attachment": _FLAG,
        **dict.fromkeys(FLAGS, _FLAG),
    },
}

# What extraction does not give: per-party participants and the operators' attributes.
_ATTRIBUTES_SQL = f"""
SELECT m.id, m.thread_id, m.size, m.has_attachments, {", ".join(f"m.{f}" for f in FLAGS)},
    concat_ws(' ', m.sender_name, {CUT.format("m.sender_email")}),
    {
    ", ".join(
        f"coalesce((SELECT string_agg(concat_ws(' ', r.name, {CUT.format('r.email')}), ' ')"
        f" FROM mail_messagerecipient r WHERE r.message_id = m.id AND r.kind = '{kind}'), '')"
        for kind in ("to", "cc", "bcc")
    )
},
    array(SELECT a.filename FROM mail_attachment a WHERE a.message_id = m.id),
    array(SELECT tl.label_id::text FROM mail_threadlabel tl WHERE tl.thread_id = m.thread_id),
    array(SELECT u.user_id::text FROM mail_unreadmark u WHERE u.message_id = m.id)
FROM mail_message m
WHERE m.id = ANY(%(ids)s)
"""  # noqa: S608 - constants only


def alias() -> str:
    return f"{settings.FACTEUR_OPENSEARCH_INDEX_PREFIX}-messages"


@cache
def client() -> OpenSearch:
    options: dict[str, object] = {"hosts": [settings.FACTEUR_OPENSEARCH_URL]}
    if settings.FACTEUR_OPENSEARCH_USERNAME:
        options["http_auth"] = (
            settings.FACTEUR_OPENSEARCH_USERNAME,
            settings.FACTEUR_OPENSEARCH_PASSWORD,
        )
    if settings.FACTEUR_OPENSEARCH_CA_FILE:
        options["ca_certs"] = settings.FACTEUR_OPENSEARCH_CA_FILE
    if settings.FACTEUR_OPENSEARCH_URL.startswith("https:"):
        options["verify_certs"] = True
    return OpenSearch(**options, timeout=WRITE_TIMEOUT)


def documents(message_ids: Sequence[object]) -> dict[str, dict[str, object]]:
    """The documents of these messages (absent: the message no longer exists), by id."""
    ids = [str(i) for i in message_ids]
    with connection.cursor() as cursor:
        cursor.execute(_ATTRIBUTES_SQL, {"ids": ids})
        attributes = {row[0]: row for row in cursor.fetchall()}
    docs = {}
    for x in extracts(ids):
        _, thread_id, size, has_attachment, *rest = attributes[x.message_id]
        flags = rest[: len(FLAGS)]
        sender, to, cc, bcc, filenames, labels, unread_by = rest[len(FLAGS) :]
        docs[str(x.message_id)] = {
            "subject": x.subject,
            "participants": x.participants,
            "body": x.body,
            "attachments": x.attachments,
            "sender": sender,
            "to": to,
            "cc": cc,
            "bcc": bcc,
            "filenames": sorted(filenames),
            "mailbox_id": str(x.mailbox_id),
            "thread_id": str(thread_id),
            "labels": sorted(labels),
            "unread_by": sorted(unread_by),
            "received_at": x.received_at.isoformat(),
            "size": size,
            "has_attachment": has_attachment,
            **dict(zip(FLAGS, flags, strict=True)),
        }
    return docs


class BulkError(RuntimeError):
    """OpenSearch refused some documents of a bulk request (the task is retried)."""


def bulk_write(message_ids: Sequence[object], *, index: str | None = None) -> int:
    """Index these messages' documents, and delete those of messages that no longer exist.

    Written to the alias unless ``index`` is given (the reindex fills a new index).
    """
    if index is None:
        _record_for_reindex(message_ids)  # before reading the messages: see reindex()
    docs = documents(message_ids)
    lines: list[dict[str, object]] = []
    for message_id in dict.fromkeys(str(i) for i in message_ids):
        if message_id in docs:
            lines += [{"index": {"_id": message_id}}, docs[message_id]]
        else:
            lines.append({"delete": {"_id": message_id}})
    if not lines:
        return 0
    # require_alias: never let a write to a missing alias create an index without the template.
    params = {} if index else {"require_alias": "true"}
    answer = client().bulk(body=lines, index=index or alias(), params=params)
    if answer.get("errors"):
        failed = [
            item
            for entry in answer["items"]
            for action, item in entry.items()
            if item.get("error") and not (action == "delete" and item.get("status") == 404)
        ]
        if failed:
            raise BulkError(f"{len(failed)} documents refused, first: {failed[0]['error']}")
    return len(docs)


def thread_message_ids(thread_ids: Sequence[object]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id::text FROM mail_message WHERE thread_id = ANY(%(t)s)",
            {"t": [str(t) for t in thread_ids]},
        )
        return [row[0] for row in cursor.fetchall()]


def put_template() -> None:
    client().indices.put_index_template(
        name=alias(),
        body={
            "index_patterns": [f"{alias()}-*"],
            "template": {"settings": {"analysis": ANALYSIS}, "mappings": MAPPINGS},
        },
    )


# Held for the whole reindex, on the reindex's own connection: one at a time, and released
# by PostgreSQL if the process dies (a stale ReindexRun row is then cleared by the next).
_REINDEX_LOCK = 0x46_41_43_54_53_52_43_48  # "FACTSRCH"


class ReindexRunning(RuntimeError):
    """Another reindex holds the lock."""


def _record_for_reindex(message_ids: Sequence[object]) -> None:
    """While a reindex runs, note these ids: it writes them again after the swap.

    One statement, so the check and the record are one: a write that finds no run
    started before the run did, and the run's copy reads the message after it.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO search_reindexchange (message_id)"
            " SELECT i FROM unnest(%(ids)s::uuid[]) i"
            " WHERE EXISTS (SELECT 1 FROM search_reindexrun)",
            {"ids": [str(i) for i in message_ids]},
        )


def reindex(progress: Callable[[int, int], None] = lambda done, total: None) -> str:
    """Build a new index from the database and swap the alias to it; returns its name.

    Writes made during the copy go to the old index through the alias, and may be
    overtaken by the copy of an older state of the same message. So, before the copy,
    a ``ReindexRun`` row is committed; from then on every write through the alias first
    records its message ids (``_record_for_reindex``), whatever changed (text, flags,
    read state, labels, deletion). After the swap, the run row goes and the recorded
    messages are written again, as they are then, through the alias (the new index). A
    write that recorded too late to be drained ran after the swap: it went to the new
    index itself.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_REINDEX_LOCK])
        if not cursor.fetchone()[0]:
            raise ReindexRunning("Another reindex is running; wait for it to finish.")
    try:
        return _reindex(progress)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM search_reindexrun")
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_REINDEX_LOCK])


def _reindex(progress: Callable[[int, int], None]) -> str:
    started = datetime.now(UTC)
    name = f"{alias()}-{started:%Y%m%d%H%M%S%f}"
    # Committed before the copy reads anything.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM search_reindexrun")  # left by a process that died
        cursor.execute("DELETE FROM search_reindexchange")
        cursor.execute(
            "INSERT INTO search_reindexrun (started_at, index) VALUES (%s, %s)", [started, name]
        )
    put_template()
    client().indices.create(index=name)
    total, done = message_count(), 0
    progress(done, total)
    for batch in all_message_ids(BATCH):
        bulk_write(batch, index=name)
        done += len(batch)
        progress(done, total)
    client().indices.refresh(index=name)
    try:
        old = sorted(client().indices.get_alias(name=alias()))
    except NotFoundError:
        old = []
    actions = [{"remove": {"index": i, "alias": alias()}} for i in old]
    actions.append({"add": {"index": name, "alias": alias()}})
    client().indices.update_aliases(body={"actions": actions})
    for index in old:
        client().indices.delete(index=index)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM search_reindexrun")
        cursor.execute("DELETE FROM search_reindexchange RETURNING message_id::text")
        changed = sorted({row[0] for row in cursor.fetchall()})
    for at in range(0, len(changed), BATCH):
        bulk_write(changed[at : at + BATCH])
    return name
