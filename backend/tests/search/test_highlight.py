"""Marking searched words: lexemes (stems, unaccented) against the text as written."""

from __future__ import annotations

import pytest

from facteur.search.highlight import EXCERPT, Marker


def marked(lexemes: set[str], text: str) -> list[str]:
    return [s.text for s in Marker(lexemes).segments(text) if s.match]


@pytest.mark.parametrize(
    ("lexemes", "text", "expected"),
    [
        ({"reunion"}, "Réunions et réunion, RÉUNION.", ["Réunions", "réunion", "RÉUNION"]),
        ({"meet"}, "the meetings we meet at", ["meetings", "meet"]),
        ({"meet"}, "meetinghouses", []),  # more than a short ending: another word
        ({"le"}, "le lendemain", ["le"]),  # short lexemes: whole words only
        ({"a.b"}, "a.b and aXb", ["a.b"]),  # regular expression characters are literal
        (set(), "nothing to mark", []),
    ],
)
def test_marks(lexemes, text, expected):
    assert marked(lexemes, text) == expected


def test_segments_give_back_the_text():
    text = "Tom & Jerry <3 — l'été   arrive"
    assert "".join(s.text for s in Marker({"ete"}).segments(text)) == " ".join(text.split())


def test_excerpt_is_around_the_first_match():
    text = "filler " * 100 + "the needle is here " + "filler " * 100
    pieces = Marker({"needle"}).excerpt(text)
    joined = "".join(s.text for s in pieces)
    assert joined.startswith("… ") and joined.endswith(" …")
    assert [s.text for s in pieces if s.match] == ["needle"]
    assert len(joined) <= EXCERPT + 4


def test_excerpt_without_a_match_is_the_start():
    assert "".join(s.text for s in Marker({"absent"}).excerpt("short text")) == "short text"
