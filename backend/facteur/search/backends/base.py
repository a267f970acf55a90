"""The interface every search backend implements, and what a search returns.

Access control is part of the contract: ``search`` receives the caller's scope
(the mailboxes they may read, the user for read state) and must return only
messages of those mailboxes or of threads shared with them, deciding so inside
the backend's own query, before any result leaves it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from facteur.search.syntax import Node

MAX_RESULTS = 1000  # threads a search pages through; refine the query beyond


class SearchTimeout(Exception):
    """The backend gave up on a query that cost too much (the API answers 503)."""


class SearchUnavailable(Exception):
    """The search service cannot answer now: unreachable, failing, or its index not made
    yet (the API answers 503; the reason is logged for the operators, not shown)."""


@dataclass(frozen=True)
class Scope:
    """Who searches, and where: ``mailbox_ids`` are mailboxes the user has access to
    (already checked); threads shared into them are searched too."""

    user_id: object
    mailbox_ids: Sequence[str]


@dataclass(frozen=True)
class Segment:
    """A piece of highlighted text: plain text, ``match`` when it matched the query."""

    text: str
    match: bool


@dataclass(frozen=True)
class Hit:
    thread_id: object
    message_id: object  # the thread's best matching message
    score: float
    subject: list[Segment]
    snippet: list[Segment]


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    has_more: bool


class SearchBackend(ABC):
    @abstractmethod
    def index_messages(self, message_ids: Sequence[object]) -> None:
        """(Re)index these messages; called in the transaction that wrote them."""

    # Changes a backend that copies message state must follow; the PostgreSQL backend
    # reads flags, labels and read state from the mail store, and its rows are deleted
    # with the messages, so these do nothing by default.
    def messages_changed(self, message_ids: Sequence[object]) -> None:  # noqa: B027 - optional
        """Flags, folders or read state of these messages changed."""

    def messages_deleted(self, message_ids: Sequence[object]) -> None:  # noqa: B027 - optional
        """These messages are being deleted."""

    def threads_changed(self, thread_ids: Sequence[object]) -> None:  # noqa: B027 - optional
        """Labels of these threads changed."""

    def mailbox_deleted(self, mailbox_id: object) -> None:  # noqa: B027 - optional
        """This mailbox is being deleted with all its mail (called before the delete)."""

    @abstractmethod
    def search(self, *, tree: Node | None, scope: Scope, offset: int, limit: int) -> Results:
        """Threads matching ``tree`` (None: every message in scope) within ``scope``,
        best first, each once, with the best message's highlighted subject and snippet."""
