"""The search language: text in, a syntax tree (``search.syntax``) out.

Gmail-like, with French aliases; see docs/search.md for the grammar. Parsing is
lenient: an unclosed quote or parenthesis is closed at the end, a stray ``)`` is
ignored, and an unknown operator or a value an operator cannot take
(``before:someday``) is searched as words. Only limits that bound the cost of the
search raise ``QueryError`` (the API answers 400 with its reason).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from facteur.search import syntax as s

MAX_LENGTH = 1000  # characters
MAX_TERMS = 64  # words, phrases and operators
MAX_DEPTH = 8  # nested parentheses and negations


class QueryError(ValueError):
    """The query is beyond the limits that bound a search's cost."""


# Operator names (lower case, accents removed) -> canonical name.
OPERATORS = {
    "from": "from", "de": "from",
    "to": "to", "a": "to",
    "cc": "cc",
    "bcc": "bcc", "cci": "bcc",
    "subject": "subject", "sujet": "subject", "objet": "subject",
    "in": "in", "dans": "in",
    "is": "is", "est": "is",
    "has": "has", "avec": "has",
    "filename": "filename", "fichier": "filename",
    "label": "label", "libelle": "label", "etiquette": "label",
    "before": "before", "avant": "before",
    "after": "after", "apres": "after",
    "older_than": "older_than", "plus_ancien_que": "older_than",
    "newer_than": "newer_than", "plus_recent_que": "newer_than",
    "larger": "larger", "plus_grand_que": "larger",
    "smaller": "smaller", "plus_petit_que": "smaller",
}  # fmt: skip

PLACES = {
    **{p.value: p for p in s.Place},
    "reception": s.Place.INBOX, "boite_de_reception": s.Place.INBOX,
    "envoyes": s.Place.SENT, "envoye": s.Place.SENT,
    "draft": s.Place.DRAFTS, "brouillons": s.Place.DRAFTS, "brouillon": s.Place.DRAFTS,
    "boite_d_envoi": s.Place.OUTBOX, "envoi": s.Place.OUTBOX,
    "archives": s.Place.ARCHIVE, "archive": s.Place.ARCHIVE,
    "indesirables": s.Place.SPAM, "pourriel": s.Place.SPAM,
    "corbeille": s.Place.TRASH,
    "suivis": s.Place.STARRED, "favoris": s.Place.STARRED,
    "tous": s.Place.ALL, "tout": s.Place.ALL,
    "partout": s.Place.ANYWHERE,
}  # fmt: skip

STATES = {
    **{st.value: st for st in s.State},
    "nonlu": s.State.UNREAD, "non_lu": s.State.UNREAD, "non_lus": s.State.UNREAD,
    "lu": s.State.READ, "lus": s.State.READ,
    "suivi": s.State.STARRED, "favori": s.State.STARRED,
}  # fmt: skip

ATTACHMENT_WORDS = {
    "attachment", "attachments", "piece_jointe", "pieces_jointes", "pj",
}  # fmt: skip

_AGE = re.compile(r"(\d{1,5})([hdjwsmya])")
_AGE_UNITS = {"h": 1 / 24, "d": 1, "j": 1, "w": 7, "s": 7, "m": 30, "y": 365, "a": 365}
_SIZE = re.compile(r"(\d{1,12}(?:[.,]\d{1,3})?)([kmg]?)[ob]?")
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_ISO_DAY = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_FRENCH_DAY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "OR", "-", "term"
    text: str = ""
    quoted: bool = False
    operator: str | None = None  # the operator's name as typed, for a term "op:value"


def parse(text: str) -> s.Node | None:
    """The tree of ``text``; None when it has nothing to search for."""
    if len(text) > MAX_LENGTH:
        raise QueryError(f"The search is {len(text)} characters long; at most {MAX_LENGTH}.")
    tokens = _tokens(_CONTROL.sub(" ", text))
    terms = sum(1 for t in tokens if t.kind == "term")
    if terms > MAX_TERMS:
        raise QueryError(f"The search has {terms} terms; at most {MAX_TERMS}.")
    return _Parser(tokens).parse()


def fold(word: str) -> str:
    """Lower case without accents, ``-`` as ``_``: how operator names and values compare."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("-", "_")


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(_Token(c))
            i += 1
        elif c == "-" and i + 1 < n and not text[i + 1].isspace():
            tokens.append(_Token("-"))
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:  # an unbalanced quote: the quote is dropped, the rest read as usual
                i += 1
                continue
            tokens.append(_Token("term", text[i + 1 : end], quoted=True))
            i = end + 1
        else:
            i = _word(text, i, tokens)
    return tokens


def _word(text: str, i: int, tokens: list[_Token]) -> int:
    """Read a word (maybe ``op:value`` or ``op:"a phrase"``) at ``i``; return where it ends."""
    j = i
    while j < len(text) and not text[j].isspace() and text[j] not in '()"':
        j += 1
    word = text[i:j]
    name, colon, value = word.partition(":")
    if colon and name and fold(name) in OPERATORS:
        if not value and j < len(text) and text[j] == '"':
            end = text.find('"', j + 1)
            if end >= 0:
                tokens.append(_Token("term", text[j + 1 : end], quoted=True, operator=name))
                return end + 1
        if value:
            tokens.append(_Token("term", value, operator=name))
            return j
    if word in ("OR", "OU", "|"):
        tokens.append(_Token("OR"))
    elif word not in ("AND", "ET", "&"):
        tokens.append(_Token("term", word))
    return j


class _Parser:
    """As Gmail: OR binds tighter than the implicit AND (``a OR b c`` is ``(a OR b) c``).

    query := group ; group := either* ; either := unary ("OR" unary)* ;
    unary := "-" unary | "(" group ")" | term
    """

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def parse(self) -> s.Node | None:
        nodes = []
        while self.at < len(self.tokens):
            node = self._group(0)
            if node is not None:
                nodes.append(node)
            if self._peek() == ")":
                self.at += 1  # a stray ")": ignored
        return _and(nodes)

    def _peek(self) -> str | None:
        return self.tokens[self.at].kind if self.at < len(self.tokens) else None

    def _group(self, depth: int) -> s.Node | None:
        nodes = []
        while self._peek() not in (None, ")"):
            if self._peek() == "OR":
                self.at += 1  # an OR with nothing before it: ignored
                continue
            node = self._either(depth)
            if node is not None:
                nodes.append(node)
        return _and(nodes)

    def _either(self, depth: int) -> s.Node | None:
        options = [self._unary(depth)]
        while self._peek() == "OR":
            self.at += 1
            if self._peek() in (None, ")", "OR"):
                break  # an OR with nothing after it: ignored
            options.append(self._unary(depth))
        kept = [o for o in options if o is not None]
        if len(kept) > 1:
            return s.Or(tuple(kept))
        return kept[0] if kept else None

    def _unary(self, depth: int) -> s.Node | None:
        if depth > MAX_DEPTH:
            raise QueryError(f"The search nests more than {MAX_DEPTH} levels deep.")
        token = self.tokens[self.at]
        self.at += 1
        if token.kind == "-":
            if self._peek() in (None, ")", "OR"):
                return None
            child = self._unary(depth + 1)
            return s.Not(child) if child is not None else None
        if token.kind == "(":
            node = self._group(depth + 1)
            if self._peek() == ")":
                self.at += 1  # an unclosed "(" is closed at the end
            return node
        if token.kind == ")":
            return None  # only reached after "-" or "OR"
        return _term(token)


def _and(nodes: list[s.Node]) -> s.Node | None:
    if len(nodes) > 1:
        return s.And(tuple(nodes))
    return nodes[0] if nodes else None


def _term(token: _Token) -> s.Node | None:
    if token.operator is not None:
        node = _operator(OPERATORS[fold(token.operator)], token.text.strip(), token.quoted)
        if node is not None:
            return node
        # A value the operator cannot take: the whole term is searched as text.
        return _words(f"{token.operator}:{token.text}", token.quoted)
    return _words(token.text, token.quoted)


def _words(text: str, phrase: bool) -> s.Words | None:
    text = text.strip()
    if not any(c.isalnum() for c in text):
        return None  # punctuation alone finds nothing and filters nothing
    return s.Words(text, phrase=phrase and len(text.split()) > 1)


def _operator(name: str, value: str, quoted: bool) -> s.Node | None:
    if not value:
        return None
    key = fold(value)
    phrase = quoted and len(value.split()) > 1
    if name in ("from", "to", "cc", "bcc"):
        return s.Person(s.Party(name), value) if any(c.isalnum() for c in value) else None
    if name == "subject":
        return s.Subject(value, phrase=phrase) if any(c.isalnum() for c in value) else None
    if name == "filename":
        return s.Filename(value) if any(c.isalnum() for c in value) else None
    if name == "label":
        return s.LabelName(value)
    if name == "in":
        return s.In(PLACES[key]) if key in PLACES else None
    if name == "is":
        return s.Is(STATES[key]) if key in STATES else None
    if name == "has":
        return s.HasAttachment() if key in ATTACHMENT_WORDS else None
    if name in ("before", "after"):
        day = _day(value)
        return s.Received(before=name == "before", day=day) if day else None
    if name in ("older_than", "newer_than"):
        age = _age(key)
        return s.Received(before=name == "older_than", age=age) if age is not None else None
    if name in ("larger", "smaller"):
        size = _size(key)
        return s.Size(larger=name == "larger", size=size) if size is not None else None
    raise AssertionError(name)  # every name of OPERATORS is handled above


def _day(value: str) -> date | None:
    iso, french = _ISO_DAY.fullmatch(value), _FRENCH_DAY.fullmatch(value)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if french:
            return date(int(french[3]), int(french[2]), int(french[1]))
    except ValueError:
        return None  # 2024-02-30
    return None


def _age(key: str) -> timedelta | None:
    found = _AGE.fullmatch(key)
    if not found:
        return None
    days = int(found[1]) * _AGE_UNITS[found[2]]
    return timedelta(days=days) if days <= 365 * 200 else None


def _size(key: str) -> int | None:
    found = _SIZE.fullmatch(key)
    if not found:
        return None
    return int(float(found[1].replace(",", ".")) * _SIZE_UNITS[found[2]])
