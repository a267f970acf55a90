"""RFC 5322 / MIME bytes to the fields the store keeps. Pure functions, no database.

Three tiers, each used only when the one before it gives up:

1. fast (``fast.py``): fast-mail-parser reads the MIME tree and the address
   headers; it hands over anything it cannot take whole.
2. lenient (``lenient.py``): the stdlib ``email`` package with policy compat32,
   which accepts anything and lists the defects it met.
3. headers only (``lenient.py``): the header block read by hand; no body.

Whatever the tier, this module then checks and bounds what it read: addresses
validated and lower-cased, ids without angle brackets, header values and
counts capped, NUL bytes removed (PostgreSQL refuses them), and every repair
or defect written down. ``parse_message`` never raises: the caller keeps the
raw bytes, so the worst case is a message flagged malformed with a
best-effort subject.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from facteur.ingest.fast import HandOver, ParseError, read_fast
from facteur.ingest.headers import best_effort_sender, message_ids
from facteur.ingest.lenient import read_headers_only, read_lenient
from facteur.ingest.mime import FilePart, select_content
from facteur.ingest.problems import Problems
from facteur.ingest.reading import Reading
from facteur.ingest.text import html_to_text
from facteur.mail.snippets import snippet_from_text

log = logging.getLogger(__name__)

# Limits that keep one hostile message from exploding a row; the raw blob keeps everything.
HEADER_VALUE_LIMIT = 4000
HEADERS_TOTAL_LIMIT = 256 * 1024
MAX_HEADERS = 500
MAX_REFERENCES = 100
MAX_RECIPIENTS = 1000
SUBJECT_LIMIT = 2000

_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Person:
    name: str
    email: str  # lower case


@dataclass
class ParsedMessage:
    mime_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    subject: str = ""
    sender: Person | None = None
    reply_to: list[Person] = field(default_factory=list)
    to: list[Person] = field(default_factory=list)
    cc: list[Person] = field(default_factory=list)
    bcc: list[Person] = field(default_factory=list)
    sent_at: datetime | None = None
    headers: list[list[str]] = field(default_factory=list)
    text_body: str = ""
    html_body: str = ""
    snippet: str = ""
    files: list[FilePart] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    is_malformed: bool = False

    @property
    def has_attachments(self) -> bool:
        return any(not f.is_inline for f in self.files)

    @property
    def reply_to_display(self) -> str:
        return ", ".join(_display(p) for p in self.reply_to)[:998]


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse raw message bytes; never raises, whatever the bytes."""
    try:
        return _assemble(read_fast(raw))
    except (ParseError, HandOver) as exc:
        reason = str(exc) or type(exc).__name__
    except Exception as exc:  # a bug must not lose mail: the next tier takes over
        log.exception("fast mail parser failed")
        reason = f"{type(exc).__name__}: {exc}"
    try:
        return _assemble(read_lenient(raw, reason))
    except RecursionError:  # hostile nesting: expected, not a bug worth a traceback
        reasons = [reason, "MIME nesting too deep for the lenient parser"]
    except Exception as exc:
        log.exception("lenient mail parser failed")
        reasons = [reason, f"{type(exc).__name__}: {exc}"]
    try:
        return _assemble(read_headers_only(raw, reasons))
    except Exception:
        log.exception("even the header block could not be read")
        return ParsedMessage(is_malformed=True, errors=["the message could not be parsed"])


def unparsed(parsed: ParsedMessage) -> ParsedMessage:
    """What is left to store when the parsed fields cannot be: identity and the raw source."""
    return ParsedMessage(
        mime_id=parsed.mime_id.encode("ascii", "ignore").decode("ascii"),
        is_malformed=True,
        errors=["the parsed fields could not be stored; only the raw message is kept"],
    )


# --- common to every tier -----------------------------------------------------------------


def _assemble(reading: Reading) -> ParsedMessage:
    pairs, problems, sent_at = reading.pairs, reading.problems, reading.sent_at
    content = select_content(reading.root, problems)
    sender = _person(*reading.sender) if reading.sender else None
    people = {kind: [_person(*a) for a in found] for kind, found in reading.people.items()}
    first, counts, stored, had_nul = _index_headers(pairs, problems)
    _note_header_problems(first, counts, sent_at, problems)
    ids = message_ids(first.get("message-id", ""))
    if sender is None and "from" in first:
        sender = _best_effort_sender(first["from"])
        problems.repair("the From header is not a valid address")

    references = _unique(message_ids(first.get("references", "")))[-MAX_REFERENCES:]
    in_reply_to = message_ids(first.get("in-reply-to", ""))
    text, html = content.text, content.html
    if had_nul or "\x00" in text or "\x00" in html:
        problems.repair("NUL bytes were removed")
    parsed = ParsedMessage(
        mime_id=_clean(ids[0])[:998] if ids else "",
        in_reply_to=_clean(in_reply_to[0])[:998] if in_reply_to else "",
        references=[_clean(r)[:998] for r in references],
        subject=_SPACES.sub(" ", _clean(first.get("subject", ""))).strip()[:SUBJECT_LIMIT],
        sender=sender,
        reply_to=[p for p in people["reply_to"] if p][:MAX_RECIPIENTS],
        sent_at=sent_at,
        headers=stored,
        text_body=_clean(text),
        html_body=_clean(html),
        files=[_clean_file(f) for f in content.files],
    )
    recipients = 0
    for kind in ("to", "cc", "bcc"):
        valid = [p for p in people[kind] if p]
        room = max(0, MAX_RECIPIENTS - recipients)
        if len(valid) > room:
            problems.repair(f"more than {MAX_RECIPIENTS} recipients; the rest were not listed")
        setattr(parsed, kind, valid[:room])
        recipients += len(valid[:room])
    parsed.snippet = snippet_from_text(parsed.text_body or html_to_text(parsed.html_body))
    parsed.errors = problems.as_list()
    parsed.is_malformed = problems.malformed
    return parsed


def _note_header_problems(
    first: dict[str, str], counts: dict[str, int], sent_at: datetime | None, problems: Problems
) -> None:
    if not first:
        problems.defect("no header fields: this does not look like an e-mail message")
    for key, label in (
        ("from", "From"),
        ("subject", "Subject"),
        ("date", "Date"),
        ("message-id", "Message-ID"),
    ):
        if counts.get(key, 0) > 1:
            problems.repair(f"{counts[key]} {label} headers; the first one is used")
    if not message_ids(first.get("message-id", "")):
        problems.repair("no Message-ID")
    if "from" not in first:
        problems.repair("no From header")
    if "date" not in first:
        problems.repair("no Date header")
    elif sent_at is None:
        problems.repair(f"the Date header is not a date: {first['date'][:100]!r}")


def _best_effort_sender(value: str) -> Person | None:
    name, email = best_effort_sender(value)
    sender = _person(name, email)
    if sender is None and name.strip():
        sender = Person(name=_SPACES.sub(" ", _clean(name)).strip()[:300], email="")
    return sender


def _person(name: str | None, address: str | None) -> Person | None:
    """A valid address (lower case) and its display name, or None."""
    email = _clean(address or "").strip().strip("<>").lower()
    if not _ADDRESS.match(email) or len(email) > 320:
        return None
    return Person(name=_SPACES.sub(" ", _clean(name or "")).strip().strip("\"'")[:300], email=email)


def _display(person: Person) -> str:
    if not person.name:
        return person.email
    name = f'"{person.name}"' if any(c in person.name for c in ',;:<>@"()[]') else person.name
    return f"{name} <{person.email}>"


def _index_headers(
    pairs: list[tuple[str, str]], problems: Problems
) -> tuple[dict[str, str], dict[str, int], list[list[str]], bool]:
    """One pass over the headers: first value and count of each name (lower case), the
    pairs to store (bounded, NUL-free), and whether any value held a NUL."""
    first: dict[str, str] = {}
    counts: dict[str, int] = {}
    stored: list[list[str]] = []
    total, had_nul, full = 0, False, False
    for name, value in pairs:
        key = name.lower()
        if key not in first:
            first[key] = value
            counts[key] = 1
        else:
            counts[key] += 1
        if full:
            continue
        if "\x00" in value or "\x00" in name:
            had_nul, name, value = True, _clean(name), _clean(value)
        if len(value) > HEADER_VALUE_LIMIT:
            problems.repair(f"the {name[:50]} header is {len(value)} characters; stored cut short")
            value = value[:HEADER_VALUE_LIMIT] + " [...]"
        total += len(name) + len(value)
        if total > HEADERS_TOTAL_LIMIT or len(stored) == MAX_HEADERS:
            problems.repair("too many or too large headers; the rest are only in the source")
            full = True
            continue
        stored.append([name[:200], value])
    return first, counts, stored, had_nul


def _clean_file(part: FilePart) -> FilePart:
    part.filename = _clean(part.filename)
    part.content_type = _clean(part.content_type)
    part.content_id = _clean(part.content_id)
    return part


def _clean(text: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL.
    return text.replace("\x00", "") if "\x00" in text else text


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
