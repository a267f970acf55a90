"""PostgreSQL full-text search: the default backend, no extra service.

Each message has a weighted tsvector (``search.models.MessageDocument``; the
text comes from ``search.extraction``): the subject (A) through three
configurations, French and English stemming and a simple one, all unaccented;
the body (C) through the two stemming ones (the simple one adds little to a
long text but a third to its index); participants (B) and attachment names
(D) through the simple one only; plus
the lexeme ``#<mailbox id>``. A query word matches in any configuration, so
"réunions" finds "réunion" and "Réunion".

A search is one statement. The caller's mailboxes, as ``#<id>`` lexemes, and
the words go into one GIN index scan (the ids are checked as well); threads
shared with those mailboxes are a second branch. The syntax tree becomes the
WHERE clause on the message and its document; the newest ``CANDIDATES``
matches are ranked (relevance blended with recency) and grouped by thread, so
a thread is returned once. ``statement_timeout`` bounds it; highlights are
made in Python (``search.highlight``) for the page's messages only.
"""

# ruff: noqa: S608 - SQL assembled from constants and %(pN)s placeholders; values are bound
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, time

import psycopg.errors
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from facteur.search import highlight
from facteur.search import syntax as s
from facteur.search.backends.base import Hit, Results, Scope, SearchBackend, SearchTimeout, Segment
from facteur.search.extraction import SOURCE_SQL, all_message_ids, message_count

# The newest matching messages ranked, the same for every page (pages stay consistent);
# a query matching more shows the best of these and must narrow to reach older mail.
CANDIDATES = 300
RECENCY_DAYS = 30  # a message this old keeps half its recency bonus
# Beyond this many mailboxes, a query without words goes through the GIN index too:
# one branch per mailbox makes the statement's planning grow with the scope.
NEWEST_FIRST_MAX_MAILBOXES = 200
HEADLINE_CHARS = 5_000  # of the body searched for an excerpt around a match
# For this transaction only: the time limit, and plans that go through the GIN index and
# fetch messages by key. The planner's estimate of "@@" on compressed documents is too
# low; it would read every document of the mailboxes, or every message to hash-join.
# No JIT: the turned-off plans' costs pass its threshold, and compiling took 15-25 ms of
# a 25 ms search (PostgreSQL 15's default configuration, where JIT is on).
_SETTINGS = (
    "SELECT set_config('statement_timeout', %s, true), set_config('enable_seqscan', 'off', true),"
    " set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),"
    " set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)"
)
_LEXEME = re.compile(r"'((?:[^']|'')*)'")  # a lexeme in a tsquery's text form

INDEX_SQL = f"""
INSERT INTO search_messagedocument (message_id, mailbox_id, received_at, has_attachments,
    document)
SELECT x.message_id, x.mailbox_id, x.received_at,
    (SELECT m.has_attachments FROM mail_message m WHERE m.id = x.message_id),
    setweight(facteur_search_vector(x.subject), 'A')
    || setweight(to_tsvector('facteur_simple', x.participants), 'B')
    || setweight(to_tsvector('facteur_french', x.body) || to_tsvector('facteur_english', x.body),
                 'C')
    || setweight(to_tsvector('facteur_simple', x.attachments), 'D')
    || array_to_tsvector(ARRAY['#' || x.mailbox_id::text])
FROM ({SOURCE_SQL}) x
ON CONFLICT (message_id) DO UPDATE
SET received_at = EXCLUDED.received_at, has_attachments = EXCLUDED.has_attachments,
    document = EXCLUDED.document
"""

# Folders as conditions on a message, as the thread list counts them (mail.services.threads).
_PLACES = {
    s.Place.INBOX: "NOT m.is_sender AND NOT m.is_draft AND NOT m.is_trashed"
    " AND NOT m.is_spam AND NOT m.is_archived",
    s.Place.SENT: "m.is_sender AND NOT m.is_draft AND NOT m.is_trashed",
    s.Place.DRAFTS: "m.is_draft AND NOT m.is_trashed",
    s.Place.OUTBOX: "m.is_sender AND NOT m.is_draft AND EXISTS (SELECT 1 FROM"
    " mail_messagerecipient o WHERE o.message_id = m.id"
    " AND o.delivery_status IN ('queued', 'retrying'))",
    s.Place.ARCHIVE: "m.is_archived AND NOT m.is_trashed AND NOT m.is_spam",
    s.Place.SPAM: "m.is_spam AND NOT m.is_trashed",
    s.Place.TRASH: "m.is_trashed",
    s.Place.STARRED: "m.is_starred AND NOT m.is_trashed",
    s.Place.ALL: "NOT m.is_trashed AND NOT m.is_spam",
    s.Place.ANYWHERE: "TRUE",
}
_KINDS = {s.Party.TO: ["to", "cc", "bcc"], s.Party.CC: ["cc"], s.Party.BCC: ["bcc"]}
_ME = {"me", "moi"}


REBUILD_BATCH = 1000  # messages per statement and transaction


def rebuild(progress: Callable[[int, int], None] | None = None) -> int:
    """Write every message's document again, a batch per transaction: the way back from
    OpenSearch, which leaves these documents unwritten. How many."""
    total, done = message_count(), 0
    for ids in all_message_ids(REBUILD_BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(INDEX_SQL, {"ids": ids})
        done += len(ids)
        if progress is not None:
            progress(done, max(total, done))
    return done


class PostgresBackend(SearchBackend):
    def index_messages(self, message_ids: Sequence[object]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(INDEX_SQL, {"ids": [str(i) for i in message_ids]})

    def search(self, *, tree: s.Node | None, scope: Scope, offset: int, limit: int) -> Results:
        compiler = _Compiler(scope)
        sql = compiler.statement(tree, offset=offset, limit=limit + 1)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                timeout = f"{settings.FACTEUR_SEARCH_TIMEOUT_MS}ms"
                cursor.execute(_SETTINGS, [timeout])
                if compiler.newest:
                    # Bitmap scans read a whole mailbox to sort it; the index is in order.
                    cursor.execute("SELECT set_config('enable_bitmapscan', 'off', true)")
                cursor.execute(sql, compiler.params)
                rows = cursor.fetchall()
                texts = _highlights(cursor, compiler, [r[1] for r in rows[:limit]])
        except OperationalError as exc:
            if isinstance(exc.__cause__, psycopg.errors.QueryCanceled):
                raise SearchTimeout from exc
            raise
        hits = [
            Hit(thread_id, message_id, float(score), *texts[message_id])
            for thread_id, message_id, score in rows[:limit]
        ]
        return Results(hits=hits, has_more=len(rows) > limit)


def _highlights(
    cursor: object, compiler: _Compiler, message_ids: list[object]
) -> dict[object, tuple[list[Segment], list[Segment]]]:
    """Subject and body excerpt of each message, the query's ranked words marked."""
    if not message_ids:
        return {}
    lexemes: set[str] = set()
    if compiler.rank_query is not None:
        cursor.execute(f"SELECT ({compiler.rank_query})::text", compiler.params)
        lexemes = {m.replace("''", "'") for m in _LEXEME.findall(cursor.fetchone()[0])}
    cursor.execute(
        "SELECT m.id, m.subject, left(coalesce(nullif(m.text_body, ''), m.snippet), %(chars)s)"
        " FROM mail_message m WHERE m.id = ANY(%(page)s)",
        {"chars": HEADLINE_CHARS, "page": message_ids},
    )
    marker = highlight.Marker(lexemes)
    return {row[0]: (marker.segments(row[1]), marker.excerpt(row[2])) for row in cursor.fetchall()}


class _Compiler:
    """A syntax tree as one SQL statement with named parameters."""

    def __init__(self, scope: Scope) -> None:
        self.params: dict[str, object] = {
            "boxes": [str(m) for m in scope.mailbox_ids],
            "user": scope.user_id,
        }
        self.count = 0
        self.rank_query: str | None = None  # the positive text terms, OR-ed
        self.newest = False  # read the scope newest first (see newest_first)

    def mailboxes(self) -> str:
        """The caller's mailboxes: as lexemes of the document (one index scan with the
        words), and as ids, which decide (the lexemes only make it fast)."""
        lexemes = " | ".join(f"'#{box}'" for box in self.params["boxes"])
        # Written so that the planner does not also read the (mailbox, date) btree index
        # for it: the lexemes already narrow the GIN scan to these mailboxes.
        ids = "coalesce(d.mailbox_id = ANY(%(boxes)s::uuid[]), FALSE)"
        return f"d.document @@ {self.param(lexemes)}::tsquery AND {ids}"

    def param(self, value: object) -> str:
        self.count += 1
        self.params[f"p{self.count}"] = value
        return f"%(p{self.count})s"

    def statement(self, tree: s.Node | None, *, offset: int, limit: int) -> str:
        where = self.where(tree) if tree is not None else "TRUE"
        # Trash and spam only when asked for (in:).
        places = tree is None or not any(isinstance(n, s.In) for n in s.walk(tree))
        if places:
            where = f"({where}) AND {_PLACES[s.Place.ALL]}"
        ranked: list[str] = []
        self.find_ranked(tree, ranked, negated=False)
        if ranked:
            self.rank_query = " || ".join(f"({q})" for q in ranked)
        rank = f"ts_rank_cd(c.document, {self.rank_query}, 32)" if ranked else "0"
        recency = (
            f"1.0 / (1 + extract(epoch FROM now() - c.received_at) / {RECENCY_DAYS * 86400}.0)"
        )
        matches = """
            SELECT m.thread_id, m.id, d.received_at, d.document
            FROM search_messagedocument d JOIN mail_message m ON m.id = d.message_id
            WHERE {scope} AND ({where})
        """
        self.newest = self.newest_first(tree)
        if self.newest:
            # Each mailbox's documents newest first (btree), merged by date, joined to
            # their messages until CANDIDATES match: the scope is not read whole. Each
            # branch is ordered itself: only then does the planner merge rather than sort.
            boxes = " UNION ALL ".join(
                f"(SELECT * FROM search_messagedocument WHERE mailbox_id = {self.param(b)}::uuid"
                " ORDER BY received_at DESC)"
                for b in dict.fromkeys(self.params["boxes"])
            )
            own = f"""(
                SELECT m.thread_id, m.id, d.received_at, d.document
                FROM ({boxes}) d JOIN mail_message m ON m.id = d.message_id
                WHERE {where}
                ORDER BY d.received_at DESC LIMIT {CANDIDATES}
            )"""
        elif tree is not None and (loose := self.words_prefilter(tree)) is not None:
            # Words: the GIN index gives the scope's messages holding them (exactly, for
            # words in any order: nothing read but their dates), newest first; then each
            # message's document is checked (a phrase's order, a subject's weight), then
            # its other conditions, only until CANDIDATES match. Through the GIN index
            # alone, every match was read and joined to its message: tens of thousands for
            # a common word in 100 mailboxes; and a phrase, whose positions the index does
            # not hold, had every document with its words read whole and checked.
            on_document, on_message = self.split(tree, places=places)
            own = f"""(
                SELECT m.thread_id, m.id, d.received_at, d.document
                FROM (
                    SELECT d.message_id, c.received_at, d.document, d.has_attachments
                    FROM (
                        SELECT d.message_id, d.received_at FROM search_messagedocument d
                        WHERE {self.mailboxes()} AND d.document @@ ({loose})
                        ORDER BY d.received_at DESC OFFSET 0
                    ) c
                    JOIN search_messagedocument d ON d.message_id = c.message_id
                    WHERE {on_document}
                    ORDER BY c.received_at DESC OFFSET 0
                ) d
                JOIN mail_message m ON m.id = d.message_id
                WHERE {on_message}
                ORDER BY d.received_at DESC LIMIT {CANDIDATES}
            )"""
        else:
            own = matches.format(scope=self.mailboxes(), where=where)
        shared = matches.format(
            scope="m.thread_id IN (SELECT ta.thread_id FROM mail_threadaccess ta"
            " WHERE ta.mailbox_id = ANY(%(boxes)s::uuid[]))"
            " AND NOT d.mailbox_id = ANY(%(boxes)s::uuid[])",
            where=where,
        )
        return f"""
        SELECT r.thread_id, (array_agg(r.id ORDER BY r.score DESC, r.received_at DESC))[1],
            max(r.score)
        FROM (
            SELECT c.thread_id, c.id, c.received_at, 0.7 * {rank} + 0.3 * {recency} AS score
            FROM (
                SELECT * FROM ({own} UNION ALL {shared}) hits
                ORDER BY hits.received_at DESC LIMIT {CANDIDATES}
            ) c
        ) r
        GROUP BY r.thread_id
        ORDER BY max(r.score) DESC, max(r.received_at) DESC, r.thread_id
        LIMIT {int(limit)} OFFSET {int(offset)}
        """

    def newest_first(self, tree: s.Node | None) -> bool:
        """Whether to read the scope newest first rather than through the GIN index: for
        queries with no condition on the document's text (``has:attachment``, dates,
        folders, labels...). Through the GIN index they read every document of the
        scope, and every message for its flags, to keep the newest few hundred."""
        if len(self.params["boxes"]) > NEWEST_FIRST_MAX_MAILBOXES:
            return False
        return tree is None or not any(_selective(n) for n in s.walk(tree))

    def words_prefilter(self, node: s.Node) -> str | None:
        """A tsquery that every match of ``node`` matches and that the GIN index answers
        without reading documents (words only: no positions, no weights); None when the
        query has no words that narrow it (then it goes through the GIN index whole)."""
        if isinstance(node, s.Words | s.Subject):  # a phrase's words, the subject's anywhere
            return f"facteur_search_words({self.param(node.text)})"
        if isinstance(node, s.And):
            parts = [p for p in map(self.words_prefilter, node.children) if p is not None]
            return " && ".join(f"({p})" for p in parts) or None
        if isinstance(node, s.Or):
            parts = list(map(self.words_prefilter, node.children))
            if not parts or None in parts:
                return None  # a branch without words: the words narrow nothing
            return " || ".join(f"({p})" for p in parts)
        return None  # negations and the other conditions are checked on each message

    def split(self, tree: s.Node, *, places: bool) -> tuple[str, str]:
        """``tree``'s conditions as (those on the document alone, the rest): the first are
        checked before the message is fetched."""
        texts, rest = [], []
        for child in tree.children if isinstance(tree, s.And) else (tree,):
            query = self.tsquery(child)
            texts.append(query) if query is not None else rest.append(self.where(child))
        if places:
            rest.append(_PLACES[s.Place.ALL])
        on_document = " && ".join(f"({q})" for q in texts)
        return (f"d.document @@ ({on_document})" if texts else "TRUE"), (
            " AND ".join(f"({r})" for r in rest) or "TRUE"
        )

    # -- conditions --------------------------------------------------------------

    def where(self, node: s.Node) -> str:
        text = self.tsquery(node)
        if text is not None:
            return f"d.document @@ ({text})"
        if isinstance(node, s.Not):
            return f"NOT ({self.where(node.child)})"
        if isinstance(node, s.And | s.Or):
            # Text terms together in one tsquery: one index condition instead of several.
            texts, rest = [], []
            for child in node.children:
                query = self.tsquery(child)
                texts.append(query) if query is not None else rest.append(self.where(child))
            glue, tglue = (" AND ", " && ") if isinstance(node, s.And) else (" OR ", " || ")
            if texts:
                rest.insert(0, f"d.document @@ ({tglue.join(f'({q})' for q in texts)})")
            return "(" + glue.join(rest) + ")"
        return self.leaf(node)

    def tsquery(self, node: s.Node) -> str | None:
        """``node`` as a tsquery expression when it is made of text terms only."""
        if isinstance(node, s.Words):
            fn = "facteur_search_phrase" if node.phrase else "facteur_search_words"
            return f"{fn}({self.param(node.text)})"
        if isinstance(node, s.Subject):
            fn = "facteur_search_phrase" if node.phrase else "facteur_search_words"
            return f"facteur_search_weighted({fn}({self.param(node.text)}), 'A')"
        if isinstance(node, s.Not):
            child = self.tsquery(node.child)
            return f"!!({child})" if child is not None else None
        if isinstance(node, s.And | s.Or):
            parts = [self.tsquery(c) for c in node.children]
            if any(p is None for p in parts):
                return None
            glue = " && " if isinstance(node, s.And) else " || "
            return glue.join(f"({p})" for p in parts)
        return None

    def leaf(self, node: s.Node) -> str:
        if isinstance(node, s.Person):
            return self.person(node)
        if isinstance(node, s.Filename):
            names = f"facteur_search_weighted(facteur_search_names({self.param(node.text)}), 'D')"
            return (
                f"d.document @@ {names} AND EXISTS (SELECT 1 FROM mail_attachment a"
                f" WHERE a.message_id = m.id AND unaccent(a.filename) ILIKE"
                f" unaccent({self.param(_contains(node.text))}))"
            )
        if isinstance(node, s.LabelName):
            name = node.name.lower()
            return (
                "m.thread_id IN (SELECT tl.thread_id FROM mail_threadlabel tl"
                " JOIN mail_label l ON l.id = tl.label_id"
                " WHERE l.mailbox_id = ANY(%(boxes)s::uuid[]) AND ("
                f"lower(l.name) = {self.param(name)}"
                f" OR lower(replace(l.name, ' ', '-')) = {self.param(name)}"
                f" OR lower(l.name) LIKE {self.param(_escape_like(name) + '/%')}))"
            )
        if isinstance(node, s.LabelId):
            return (
                "m.thread_id IN (SELECT tl.thread_id FROM mail_threadlabel tl"
                " JOIN mail_label l ON l.id = tl.label_id"
                f" WHERE l.id = {self.param(node.id)} AND l.mailbox_id = ANY(%(boxes)s::uuid[]))"
            )
        if isinstance(node, s.In):
            return f"({_PLACES[node.place]})"
        if isinstance(node, s.Is):
            if node.state is s.State.STARRED:
                return "m.is_starred"
            unread = (
                "EXISTS (SELECT 1 FROM mail_unreadmark u"
                " WHERE u.message_id = m.id AND u.user_id = %(user)s)"
            )
            return unread if node.state is s.State.UNREAD else f"NOT {unread}"
        if isinstance(node, s.HasAttachment):
            return "d.has_attachments"  # copied: the partial index answers it
        if isinstance(node, s.Received):
            return self.received(node)
        if isinstance(node, s.Size):
            return f"m.size {'>' if node.larger else '<'} {self.param(node.size)}"
        raise AssertionError(node)

    def person(self, node: s.Person) -> str:
        if node.text.lower() in _ME:
            return "m.is_sender" if node.party is s.Party.FROM else "NOT m.is_sender"
        names = f"facteur_search_weighted(facteur_search_names({self.param(node.text)}), 'B')"
        like = f"unaccent({self.param(_contains(node.text))})"
        if node.party is s.Party.FROM:
            exact = (
                f"(unaccent(m.sender_email) ILIKE {like} OR unaccent(m.sender_name) ILIKE {like})"
            )
        else:
            exact = (
                "EXISTS (SELECT 1 FROM mail_messagerecipient r WHERE r.message_id = m.id"
                f" AND r.kind = ANY({self.param(_KINDS[node.party])})"
                f" AND (unaccent(r.email) ILIKE {like} OR unaccent(r.name) ILIKE {like}))"
            )
        return f"(d.document @@ {names} AND {exact})"

    def received(self, node: s.Received) -> str:
        if node.day is not None:
            moment = timezone.make_aware(datetime.combine(node.day, time.min))
        else:
            moment = timezone.now() - node.age
        return f"d.received_at {'<' if node.before else '>='} {self.param(moment)}"

    def find_ranked(self, node: s.Node | None, found: list[str], *, negated: bool) -> None:
        """Collect the text terms a message is ranked on: those not under a negation."""
        if isinstance(node, s.Not):
            self.find_ranked(node.child, found, negated=not negated)
        elif isinstance(node, s.And | s.Or):
            for child in node.children:
                self.find_ranked(child, found, negated=negated)
        elif isinstance(node, s.Words | s.Subject) and not negated:
            found.append(self.tsquery(node))


def _selective(node: s.Node) -> bool:
    """A condition that the planner best starts from (the GIN index, the thread's labels)
    rather than reading the scope newest first: it matches few messages."""
    if isinstance(node, s.Person):
        return node.text.lower() not in _ME
    return isinstance(node, s.Words | s.Subject | s.Filename | s.LabelName | s.LabelId)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(text: str) -> str:
    return f"%{_escape_like(text)}%"
