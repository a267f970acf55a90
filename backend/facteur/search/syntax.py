"""The syntax tree of a search query (built by ``search.query``, run by a backend).

Leaves are conditions on one message; a thread matches when one of its messages
does. ``And`` / ``Or`` / ``Not`` combine them. Values are already checked and
normalised (dates parsed, sizes in bytes, ``in:`` places in English), so a
backend never sees the query's raw text or its French aliases.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class Place(StrEnum):
    """``in:`` values; the same folders as the thread list's views, plus outbox/anywhere."""

    INBOX = "inbox"
    SENT = "sent"
    DRAFTS = "drafts"
    OUTBOX = "outbox"
    ARCHIVE = "archive"
    SPAM = "spam"
    TRASH = "trash"
    STARRED = "starred"
    ALL = "all"  # everything but trash and spam
    ANYWHERE = "anywhere"  # trash and spam included


class State(StrEnum):
    """``is:`` values."""

    UNREAD = "unread"
    READ = "read"
    STARRED = "starred"


class Party(StrEnum):
    """Whose address a ``from:``/``to:``/``cc:``/``bcc:`` names."""

    FROM = "from"
    TO = "to"  # to, cc or bcc
    CC = "cc"
    BCC = "bcc"


@dataclass(frozen=True)
class Words:
    """Free text: every word must appear (``phrase``: in this order, side by side)."""

    text: str
    phrase: bool = False


@dataclass(frozen=True)
class Subject:
    text: str
    phrase: bool = False


@dataclass(frozen=True)
class Person:
    """A participant: part of a name or address; ``me`` is the mailbox itself (from:me)."""

    party: Party
    text: str


@dataclass(frozen=True)
class Filename:
    text: str


@dataclass(frozen=True)
class LabelName:
    """A label of one of the caller's mailboxes, by name (sub-labels included)."""

    name: str


@dataclass(frozen=True)
class LabelId:
    """A label by id: the thread list's ``label`` parameter, not the query language."""

    id: str


@dataclass(frozen=True)
class In:
    place: Place


@dataclass(frozen=True)
class Is:
    state: State


@dataclass(frozen=True)
class HasAttachment:
    pass


@dataclass(frozen=True)
class Received:
    """Received before (``before=True``) or on/after a day, or relative to now."""

    before: bool
    day: date | None = None
    age: timedelta | None = None  # older_than / newer_than


@dataclass(frozen=True)
class Size:
    larger: bool
    size: int  # bytes


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = (
    Words
    | Subject
    | Person
    | Filename
    | LabelName
    | LabelId
    | In
    | Is
    | HasAttachment
    | Received
    | Size
    | Not
    | And
    | Or
)


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents first."""
    yield node
    if isinstance(node, Not):
        yield from walk(node.child)
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from walk(child)
