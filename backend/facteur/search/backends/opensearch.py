"""OpenSearch: the backend for installations too large for PostgreSQL's full text.

The index (``search.opensearch_index``) is written by Celery tasks queued when
the writing transaction commits, never by the request or the ingest itself. A
search is one ``_search`` request: the caller's scope as a filter that every
query carries (their mailboxes, and the threads shared into them, read from the
database as the PostgreSQL backend does), the syntax tree as a bool query,
relevance plus a recency bonus, one hit per thread (collapse on ``thread_id``)
and highlights between per-request marks, cut here into plain-text segments.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, time
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from opensearchpy import ConnectionTimeout, NotFoundError, TransportError

from facteur.search import opensearch_index
from facteur.search import syntax as s
from facteur.search.backends.base import (
    Hit,
    Results,
    Scope,
    SearchBackend,
    SearchTimeout,
    SearchUnavailable,
    Segment,
)

logger = logging.getLogger(__name__)
RECENCY = {"origin": "now", "scale": "30d", "decay": 0.5}  # as backends.postgres
EXCERPT = 200  # characters of body around the first match
DELETE_TASK_SIZE = 20 * opensearch_index.BATCH  # message ids per task when a mailbox goes
_SUBJECTS = ("subject", "subject.fr", "subject.en")
_BODIES = ("body", "body.fr", "body.en")
_CONTENT = ("content", "content.fr", "content.en")  # a word matches in any analyser
_PARTIES = {
    s.Party.FROM: ["sender"],
    s.Party.TO: ["to", "cc", "bcc"],
    s.Party.CC: ["cc"],
    s.Party.BCC: ["bcc"],
}
_ME = {"me", "moi"}


def _flags(yes: Sequence[str] = (), no: Sequence[str] = ()) -> dict[str, object]:
    return {
        "bool": {
            "filter": [{"term": {f: True}} for f in yes],
            "must_not": [{"term": {f: True}} for f in no],
        }
    }


# Folders as the thread list counts them (mail.services.threads); OUTBOX needs the database.
_PLACES = {
    s.Place.INBOX: _flags(no=["is_sender", "is_draft", "is_trashed", "is_spam", "is_archived"]),
    s.Place.SENT: _flags(["is_sender"], ["is_draft", "is_trashed"]),
    s.Place.DRAFTS: _flags(["is_draft"], ["is_trashed"]),
    s.Place.ARCHIVE: _flags(["is_archived"], ["is_trashed", "is_spam"]),
    s.Place.SPAM: _flags(["is_spam"], ["is_trashed"]),
    s.Place.TRASH: _flags(["is_trashed"]),
    s.Place.STARRED: _flags(["is_starred"], ["is_trashed"]),
    s.Place.ALL: _flags(no=["is_trashed", "is_spam"]),
    s.Place.ANYWHERE: {"match_all": {}},
}
_MATCH_NONE: dict[str, object] = {"match_none": {}}


class OpenSearchBackend(SearchBackend):
    def index_messages(self, message_ids: Sequence[object]) -> None:
        self.messages_changed(message_ids)

    def messages_changed(self, message_ids: Sequence[object]) -> None:
        from facteur.search.tasks import search_write_messages

        ids = [str(i) for i in message_ids]
        transaction.on_commit(lambda: search_write_messages.delay(ids))

    # Deleted messages have no document to build: the same task deletes theirs.
    messages_deleted = messages_changed

    def mailbox_deleted(self, mailbox_id: object) -> None:
        """The messages are deleted by cascade, without messages_deleted: their ids are read
        now, before the delete, and the same task deletes their documents after the commit
        (in tasks of a bounded size: a mailbox may hold a million messages)."""
        from facteur.search.tasks import search_write_messages

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id::text FROM mail_message WHERE mailbox_id = %s", [str(mailbox_id)]
            )
            ids = [row[0] for row in cursor.fetchall()]
        for at in range(0, len(ids), DELETE_TASK_SIZE):
            chunk = ids[at : at + DELETE_TASK_SIZE]
            transaction.on_commit(lambda chunk=chunk: search_write_messages.delay(chunk))

    def threads_changed(self, thread_ids: Sequence[object]) -> None:
        from facteur.search.tasks import search_write_threads

        ids = [str(i) for i in thread_ids]
        transaction.on_commit(lambda: search_write_threads.delay(ids))

    def search(self, *, tree: s.Node | None, scope: Scope, offset: int, limit: int) -> Results:
        marks = _Marks()
        body = request_body(tree, scope, offset=offset, limit=limit + 1, marks=marks)
        seconds = settings.FACTEUR_SEARCH_TIMEOUT_MS / 1000
        try:
            answer = opensearch_index.client().search(
                index=opensearch_index.alias(), body=body, request_timeout=seconds
            )
        except ConnectionTimeout as exc:
            raise SearchTimeout from exc
        except NotFoundError as exc:
            logger.warning(
                "search: no index behind %s (run `facteur-admin search reindex`)",
                opensearch_index.alias(),
            )
            raise SearchUnavailable("no search index yet") from exc
        except TransportError as exc:  # unreachable (ConnectionError), 5xx, refused
            # The status and the error type only: a reason may quote the searched words.
            logger.warning("search: OpenSearch answered %s %s", exc.status_code, exc.error)
            raise SearchUnavailable("the search service did not answer") from exc
        if answer.get("timed_out"):
            raise SearchTimeout
        found = answer["hits"]["hits"]
        hits = [
            Hit(
                UUID(hit["fields"]["thread_id"][0]),
                UUID(hit["_id"]),
                float(hit.get("_score") or 0),
                marks.segments(_first(hit.get("highlight", {}), _SUBJECTS)),
                marks.segments(_first(hit.get("highlight", {}), _BODIES)),
            )
            for hit in found[:limit]
        ]
        return Results(hits=hits, has_more=len(found) > limit)


def _first(highlight: dict[str, list[str]], fields: Sequence[str]) -> str:
    """The first field's fragment that has a match (the unaccented one before the stems)."""
    fragments = [highlight[f][0] for f in fields if highlight.get(f)]
    return next((f for f in fragments if _Marks.PRE in f), fragments[0] if fragments else "")


class _Marks:
    """Highlight marks unique to one request, so no text of a message can fake one."""

    PRE = "\ue000"  # private-use characters; the token after them makes each mark unique

    def __init__(self) -> None:
        token = secrets.token_hex(8)
        self.pre, self.post = f"{self.PRE}{token}[", f"]{token}\ue001"
        self.split = re.compile(f"{re.escape(self.pre)}(.*?){re.escape(self.post)}", re.DOTALL)

    def segments(self, fragment: str) -> list[Segment]:
        pieces: list[Segment] = []
        at = 0
        for found in self.split.finditer(fragment):
            pieces.append(Segment(fragment[at : found.start()], match=False))
            pieces.append(Segment(found.group(1), match=True))
            at = found.end()
        pieces.append(Segment(fragment[at:], match=False))
        # Whitespace runs made single, as highlight.Marker does; empty pieces dropped.
        cleaned = [Segment(re.sub(r"\s+", " ", p.text), p.match) for p in pieces]
        if cleaned:
            cleaned[0] = Segment(cleaned[0].text.lstrip(), cleaned[0].match)
            cleaned[-1] = Segment(cleaned[-1].text.rstrip(), cleaned[-1].match)
        return [p for p in cleaned if p.text]


def request_body(
    tree: s.Node | None, scope: Scope, *, offset: int, limit: int, marks: _Marks
) -> dict[str, object]:
    """The ``_search`` body: the scope is a filter of the outermost query, always."""
    compiler = _Compiler(scope)
    conditions = [compiler.query(tree)] if tree is not None else []
    if tree is None or not any(isinstance(n, s.In) for n in s.walk(tree)):
        conditions.append(_PLACES[s.Place.ALL])  # trash and spam only when asked for
    highlight = {"number_of_fragments": 0, "no_match_size": 1000}
    excerpt = {"fragment_size": EXCERPT, "number_of_fragments": 1}
    return {
        "query": {
            "function_score": {
                "query": {"bool": {"filter": [compiler.scope()], "must": conditions}},
                "functions": [{"exp": {"received_at": RECENCY}, "weight": 0.3}],
                "score_mode": "sum",
                "boost_mode": "sum",
            }
        },
        "collapse": {"field": "thread_id"},
        "sort": [{"_score": "desc"}, {"received_at": "desc"}],
        "from": offset,
        "size": limit,
        "_source": False,
        "fields": ["thread_id"],
        "track_scores": True,  # sorted by score then date: keep the score in each hit
        "track_total_hits": False,
        "timeout": f"{settings.FACTEUR_SEARCH_TIMEOUT_MS}ms",
        "highlight": {
            "pre_tags": [marks.pre],
            "post_tags": [marks.post],
            "require_field_match": False,
            "fields": {
                **dict.fromkeys(_SUBJECTS, highlight),
                "body": {**excerpt, "no_match_size": EXCERPT},
                **dict.fromkeys(_BODIES[1:], excerpt),
            },
        },
    }


class _Compiler:
    """A syntax tree as an OpenSearch query; labels, shares and the outbox read from
    the database, restricted to the caller's mailboxes."""

    def __init__(self, scope: Scope) -> None:
        self.boxes = [str(m) for m in scope.mailbox_ids]
        self.user = str(scope.user_id)

    def _ids(self, sql: str, **params: object) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(sql, {"boxes": self.boxes, **params})
            return sorted(row[0] for row in cursor.fetchall())

    def scope(self) -> dict[str, object]:
        """The caller's mailboxes, or a thread shared into one of them."""
        shared = self._ids(
            "SELECT DISTINCT thread_id::text FROM mail_threadaccess"
            " WHERE mailbox_id = ANY(%(boxes)s::uuid[])"
        )
        either = [{"terms": {"mailbox_id": self.boxes}}]
        if shared:
            either.append({"terms": {"thread_id": shared}})
        return {"bool": {"should": either, "minimum_should_match": 1}}

    def query(self, node: s.Node) -> dict[str, object]:
        if isinstance(node, s.Not):
            return {"bool": {"must_not": [self.query(node.child)]}}
        if isinstance(node, s.And):
            return {"bool": {"must": [self.query(c) for c in node.children]}}
        if isinstance(node, s.Or):
            children = [self.query(c) for c in node.children]
            return {"bool": {"should": children, "minimum_should_match": 1}}
        if isinstance(node, s.Words):
            return _text(_CONTENT, node.text, phrase=node.phrase)
        if isinstance(node, s.Subject):
            return _text(_SUBJECTS, node.text, phrase=node.phrase)
        if isinstance(node, s.Person):
            return self.person(node)
        if isinstance(node, s.Filename):
            pattern = re.sub(r"([*?\\])", r"\\\1", node.text)
            return {
                "bool": {
                    "must": [
                        {"match": {"attachments": {"query": node.text, "operator": "and"}}},
                        {
                            "wildcard": {
                                "filenames": {"value": f"*{pattern}*", "case_insensitive": True}
                            }
                        },
                    ]
                }
            }
        if isinstance(node, s.LabelName | s.LabelId):
            return self.labels(node)
        if isinstance(node, s.In):
            return self.place(node.place)
        if isinstance(node, s.Is):
            if node.state is s.State.STARRED:
                return {"term": {"is_starred": True}}
            unread = {"term": {"unread_by": self.user}}
            return unread if node.state is s.State.UNREAD else {"bool": {"must_not": [unread]}}
        if isinstance(node, s.HasAttachment):
            return {"term": {"has_attachment": True}}
        if isinstance(node, s.Received):
            if node.day is not None:
                moment = timezone.make_aware(datetime.combine(node.day, time.min))
            else:
                moment = timezone.now() - node.age
            return {"range": {"received_at": {"lt" if node.before else "gte": moment.isoformat()}}}
        if isinstance(node, s.Size):
            return {"range": {"size": {"gt" if node.larger else "lt": node.size}}}
        raise AssertionError(node)

    def person(self, node: s.Person) -> dict[str, object]:
        if node.text.lower() in _ME:
            return {"term": {"is_sender": node.party is s.Party.FROM}}
        fields = _PARTIES[node.party]
        matches = [{"match": {f: {"query": node.text, "operator": "and"}}} for f in fields]
        return {"bool": {"should": matches, "minimum_should_match": 1}}

    def labels(self, node: s.LabelName | s.LabelId) -> dict[str, object]:
        """Label ids of the caller's mailboxes (documents hold their thread's label ids)."""
        if isinstance(node, s.LabelId):
            sql = "SELECT id::text FROM mail_label WHERE id::text = %(id)s"
            ids = self._ids(f"{sql} AND mailbox_id = ANY(%(boxes)s::uuid[])", id=node.id)
        else:
            name = node.name.lower()
            like = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
            ids = self._ids(
                "SELECT id::text FROM mail_label WHERE mailbox_id = ANY(%(boxes)s::uuid[])"
                " AND (lower(name) = %(name)s OR lower(replace(name, ' ', '-')) = %(name)s"
                " OR lower(name) LIKE %(like)s)",
                name=name,
                like=like,
            )
        return {"terms": {"labels": ids}} if ids else _MATCH_NONE

    def place(self, place: s.Place) -> dict[str, object]:
        if place is not s.Place.OUTBOX:
            return _PLACES[place]
        # Messages waiting for delivery: few, and their state changes with every attempt.
        waiting = self._ids(
            "SELECT DISTINCT m.id::text FROM mail_message m"
            " JOIN mail_messagerecipient o ON o.message_id = m.id"
            " WHERE o.delivery_status IN ('queued', 'retrying') AND m.is_sender"
            " AND NOT m.is_draft AND (m.mailbox_id = ANY(%(boxes)s::uuid[]) OR m.thread_id IN"
            " (SELECT thread_id FROM mail_threadaccess WHERE mailbox_id = ANY(%(boxes)s::uuid[])))"
        )
        return {"ids": {"values": waiting}} if waiting else _MATCH_NONE


def _text(fields: Sequence[str], text: str, *, phrase: bool) -> dict[str, object]:
    """Every word in one of ``fields`` (each analyser in turn), or the phrase in one."""
    if phrase:
        options = [{"match_phrase": {f: text}} for f in fields]
        return {"bool": {"should": options, "minimum_should_match": 1}}
    words = [
        {
            "bool": {
                "should": [{"match": {f: {"query": word, "operator": "and"}}} for f in fields],
                "minimum_should_match": 1,
            }
        }
        for word in text.split()
    ]
    return words[0] if len(words) == 1 else {"bool": {"must": words}}
