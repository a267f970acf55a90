"""Marking the searched words in a subject and a body excerpt, as plain-text segments.

Done here rather than with PostgreSQL's ``ts_headline``, which parses and
normalises the whole text again for every result (it was most of a search's
time in bench/search.py); here one compiled regular expression per search.
A word is marked when, case and accents aside, it is one of the query's
lexemes, or starts with a lexeme of three letters or more followed by at most
four more: lexemes are stems ("reunion" for "réunions"), so "réunion",
"réunions" and "Réunion" are all marked.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from facteur.search.backends.base import Segment

EXCERPT = 200  # characters of body around the first match
_BEFORE = 60  # of which before it
_MAX_ENDING = 4  # letters a stemmer removes, about
_ACCENTED = {
    "a": "aàáâãäå", "c": "cç", "e": "eèéêë", "i": "iìíîï", "n": "nñ", "o": "oòóôõöø",
    "u": "uùúûü", "y": "yýÿ", "s": "sß",
}  # fmt: skip


def _tolerant(lexeme: str) -> str:
    """A pattern for ``lexeme`` (unaccented, lower case) that accepts accented letters."""
    return "".join(f"[{_ACCENTED[c]}]" if c in _ACCENTED else re.escape(c) for c in lexeme)


class Marker:
    def __init__(self, lexemes: Collection[str]) -> None:
        stems = sorted((x for x in lexemes if len(x) >= 3), key=len, reverse=True)
        exact = sorted((x for x in lexemes if 0 < len(x) < 3), key=len, reverse=True)
        options = []
        if stems:
            options.append(f"(?:{'|'.join(map(_tolerant, stems))})\\w{{0,{_MAX_ENDING}}}")
        if exact:
            options.append("|".join(map(_tolerant, exact)))
        self.pattern = (
            re.compile(rf"\b(?:{'|'.join(options)})\b", re.IGNORECASE) if options else None
        )

    def segments(self, text: str) -> list[Segment]:
        """``text`` cut into plain and matching pieces (whitespace runs made single)."""
        text = " ".join(text.split())
        pieces: list[Segment] = []
        at = 0
        for found in self.pattern.finditer(text) if self.pattern else ():
            if found.start() > at:
                pieces.append(Segment(text[at : found.start()], match=False))
            pieces.append(Segment(found.group(), match=True))
            at = found.end()
        if at < len(text):
            pieces.append(Segment(text[at:], match=False))
        return pieces

    def excerpt(self, text: str) -> list[Segment]:
        """About ``EXCERPT`` characters of ``text`` around its first match (its start if none)."""
        text = " ".join(text.split())
        found = self.pattern.search(text) if self.pattern else None
        start = max(0, found.start() - _BEFORE) if found else 0
        if start:
            space = text.find(" ", start, found.start())
            start = space + 1 if space >= 0 else start
        end = start + EXCERPT
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start else end
        prefix, suffix = ("… " if start else ""), (" …" if end < len(text) else "")
        return self.segments(prefix + text[start:end] + suffix)
