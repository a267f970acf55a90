"""The search language's parser: table-driven, each row a query and the tree it gives."""

from __future__ import annotations

import contextlib
import random
from datetime import date, timedelta

import pytest

from facteur.search import syntax as s
from facteur.search.query import MAX_DEPTH, MAX_LENGTH, MAX_TERMS, QueryError, parse

W = s.Words

TREES = [
    # free words, phrases, negation, OR, parentheses
    ("hello", W("hello")),
    ("  hello   world ", s.And((W("hello"), W("world")))),
    ('"exact phrase"', W("exact phrase", phrase=True)),
    ('"single"', W("single")),
    ("-spam", s.Not(W("spam"))),
    ("a OR b", s.Or((W("a"), W("b")))),
    ("a | b", s.Or((W("a"), W("b")))),
    ("a OU b", s.Or((W("a"), W("b")))),
    ("a or b", s.And((W("a"), W("or"), W("b")))),  # lower case: a word
    ("a AND b", s.And((W("a"), W("b")))),
    ("(a OR b) c", s.And((s.Or((W("a"), W("b"))), W("c")))),
    ("-(a OR b)", s.Not(s.Or((W("a"), W("b"))))),
    ("a OR b c", s.And((s.Or((W("a"), W("b"))), W("c")))),  # OR binds tighter, as Gmail
    ("a b OR c", s.And((W("a"), s.Or((W("b"), W("c")))))),
    ("a OR b OR c", s.Or((W("a"), W("b"), W("c")))),
    ("a OR -b", s.Or((W("a"), s.Not(W("b"))))),
    ("a OR (b c)", s.Or((W("a"), s.And((W("b"), W("c")))))),
    ("- OR a", W("a")),
    ("e-mail", W("e-mail")),  # a hyphen inside a word is no negation
    # operators and their French aliases
    ("from:alice", s.Person(s.Party.FROM, "alice")),
    ("de:alice@example.com", s.Person(s.Party.FROM, "alice@example.com")),
    ("to:bob", s.Person(s.Party.TO, "bob")),
    ("à:bob", s.Person(s.Party.TO, "bob")),
    ("a:bob", s.Person(s.Party.TO, "bob")),
    ("cc:carol", s.Person(s.Party.CC, "carol")),
    ("cci:dave", s.Person(s.Party.BCC, "dave")),
    ("bcc:dave", s.Person(s.Party.BCC, "dave")),
    ('from:"Alice Martin"', s.Person(s.Party.FROM, "Alice Martin")),
    ("subject:budget", s.Subject("budget")),
    ('sujet:"réunion mensuelle"', s.Subject("réunion mensuelle", phrase=True)),
    ("objet:devis", s.Subject("devis")),
    ("FROM:alice", s.Person(s.Party.FROM, "alice")),
    ("in:inbox", s.In(s.Place.INBOX)),
    ("dans:corbeille", s.In(s.Place.TRASH)),
    ("dans:envoyés", s.In(s.Place.SENT)),
    ("in:drafts", s.In(s.Place.DRAFTS)),
    ("dans:brouillons", s.In(s.Place.DRAFTS)),
    ("in:outbox", s.In(s.Place.OUTBOX)),
    ("in:archive", s.In(s.Place.ARCHIVE)),
    ("in:spam", s.In(s.Place.SPAM)),
    ("dans:indésirables", s.In(s.Place.SPAM)),
    ("in:starred", s.In(s.Place.STARRED)),
    ("in:all", s.In(s.Place.ALL)),
    ("dans:tous", s.In(s.Place.ALL)),
    ("in:anywhere", s.In(s.Place.ANYWHERE)),
    ("is:unread", s.Is(s.State.UNREAD)),
    ("est:non-lu", s.Is(s.State.UNREAD)),
    ("est:lu", s.Is(s.State.READ)),
    ("is:starred", s.Is(s.State.STARRED)),
    ("has:attachment", s.HasAttachment()),
    ("avec:pj", s.HasAttachment()),
    ("has:pièce-jointe", s.HasAttachment()),
    ("filename:report.pdf", s.Filename("report.pdf")),
    ("fichier:devis", s.Filename("devis")),
    ("label:Clients/ACME", s.LabelName("Clients/ACME")),
    ("libellé:urgent", s.LabelName("urgent")),
    ("before:2024-01-31", s.Received(before=True, day=date(2024, 1, 31))),
    ("before:2024/1/31", s.Received(before=True, day=date(2024, 1, 31))),
    ("avant:31/01/2024", s.Received(before=True, day=date(2024, 1, 31))),
    ("après:2023-12-01", s.Received(before=False, day=date(2023, 12, 1))),
    ("older_than:2d", s.Received(before=True, age=timedelta(days=2))),
    ("older_than:3w", s.Received(before=True, age=timedelta(weeks=3))),
    ("newer_than:1y", s.Received(before=False, age=timedelta(days=365))),
    ("plus_recent_que:2j", s.Received(before=False, age=timedelta(days=2))),
    ("newer_than:12h", s.Received(before=False, age=timedelta(hours=12))),
    ("larger:10k", s.Size(larger=True, size=10 * 1024)),
    ("larger:2M", s.Size(larger=True, size=2 * 1024 * 1024)),
    ("smaller:1.5mo", s.Size(larger=False, size=int(1.5 * 1024 * 1024))),
    ("smaller:500", s.Size(larger=False, size=500)),
    # leniency: whatever cannot be an operator is searched as text
    ("foo:bar", W("foo:bar")),
    ("before:someday", W("before:someday")),
    ("before:2024-02-30", W("before:2024-02-30")),
    ("in:nowhere", W("in:nowhere")),
    ("is:happy", W("is:happy")),
    ("has:cheese", W("has:cheese")),
    ("larger:huge", W("larger:huge")),
    ("older_than:2x", W("older_than:2x")),
    ("from:", W("from:")),
    ('"unclosed phrase', s.And((W("unclosed"), W("phrase")))),
    ("((a", W("a")),
    ("a) b", s.And((W("a"), W("b")))),
    ("()", None),
    ("-", None),
    ("OR", None),
    ("OR a OR", W("a")),
    ("", None),
    ("   ", None),
    ("!!! ...", None),
    ("a\x00b", s.And((W("a"), W("b")))),  # control characters are spaces
    ("\x00\x01\x7f", None),
]


@pytest.mark.parametrize(("text", "tree"), TREES, ids=[t for t, _ in TREES])
def test_parse(text, tree):
    assert parse(text) == tree


LIMITS = [
    ("x" * (MAX_LENGTH + 1), "characters long"),
    (" OR ".join(f"w{i}" for i in range(MAX_TERMS + 1)), "terms"),
    ("(" * (MAX_DEPTH + 2) + "a", "levels deep"),
    ("-" * 1 + " ".join(["-"] * 3) + "(" * 20 + "x" + ")" * 20, "levels deep"),
]


@pytest.mark.parametrize(("text", "reason"), LIMITS)
def test_limits_say_why(text, reason):
    with pytest.raises(QueryError, match=reason):
        parse(text)


def test_just_within_the_limits():
    assert parse("x" * MAX_LENGTH) == W("x" * MAX_LENGTH)
    assert isinstance(parse(" OR ".join(f"w{i}" for i in range(MAX_TERMS))), s.Or)
    assert parse("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH) == W("a")


def test_any_bytes_parse_or_refuse_with_a_reason():
    # Random printable and binary text never raises anything but QueryError.
    rng = random.Random(7)
    alphabet = '()"-:| abcéà\x00\x1b\t\nORfrom:in:is:before:'
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        with contextlib.suppress(QueryError):
            parse(text)
