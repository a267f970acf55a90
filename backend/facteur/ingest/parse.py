"""RFC 5322 / MIME bytes to the fields the store keeps. Pure functions, no database.

Three tiers, each used only when the one before it gives up:

1. fast: fast-mail-parser (Rust) reads the MIME tree lazily and the address
   headers; charsets, body choice and attachments are decided here. It hands
   over anything it cannot take whole: a parse error, a part that does not
   decode, a multipart without parts or without its closing boundary.
2. lenient: the stdlib ``email`` package with policy compat32, which accepts
   anything and lists the defects it met (they become ``parse_errors`` and make
   the message malformed).
3. minimal: only the header block read by hand; no body.

``parse_message`` never raises: the raw bytes are always kept by the caller,
so the worst case is a message flagged malformed with a best-effort subject.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email import policy
from email.message import Message as StdMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

import fast_mail_parser

from facteur.ingest.headers import (
    best_effort_sender,
    decode_words,
    field_names,
    header_block_end,
    message_ids,
    parse_addresses,
    raw_fields,
)
from facteur.ingest.mime import MAX_DEPTH, Content, FilePart, Part, select_content
from facteur.ingest.problems import Problems
from facteur.ingest.text import decode_bytes, html_to_text
from facteur.mail.snippets import snippet_from_text

log = logging.getLogger(__name__)

# Limits that keep one hostile message from exploding a row; the raw blob keeps everything.
HEADER_VALUE_LIMIT = 4000
HEADERS_TOTAL_LIMIT = 256 * 1024
MAX_HEADERS = 500
MAX_REFERENCES = 100
MAX_RECIPIENTS = 1000
SUBJECT_LIMIT = 2000

_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)", re.IGNORECASE)
_BOUNDARY = re.compile(r";\s*boundary\s*=\s*(?:\"([^\"]+)\"|([^;\s]+))", re.IGNORECASE)
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


class _HandOver(Exception):
    """The fast parser read the message but not in a way to trust: use the lenient one."""


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse raw message bytes; never raises, whatever the bytes."""
    try:
        return _parse_fast(raw)
    except (fast_mail_parser.ParseError, _HandOver) as exc:
        reason = str(exc) or type(exc).__name__
    except Exception as exc:  # a bug must not lose mail: the next tier takes over
        log.exception("fast mail parser failed")
        reason = f"{type(exc).__name__}: {exc}"
    try:
        return _parse_lenient(raw, reason)
    except RecursionError:  # hostile nesting: expected, not a bug worth a traceback
        reasons = [reason, "MIME nesting too deep for the lenient parser"]
    except Exception as exc:
        log.exception("lenient mail parser failed")
        reasons = [reason, f"{type(exc).__name__}: {exc}"]
    try:
        return _parse_minimal(raw, reasons)
    except Exception:
        log.exception("even the header block could not be read")
        return ParsedMessage(is_malformed=True, errors=["the message could not be parsed"])


UNPARSED = ParsedMessage(
    is_malformed=True,
    errors=["the parsed fields could not be stored; only the raw message is kept"],
)


def unparsed(parsed: ParsedMessage) -> ParsedMessage:
    """What is left to store when the parsed fields cannot be: identity and the raw source."""
    return replace(UNPARSED, mime_id=parsed.mime_id.encode("ascii", "ignore").decode("ascii"))


# --- tier 1: fast-mail-parser -------------------------------------------------------------


def _parse_fast(raw: bytes) -> ParsedMessage:
    tree = fast_mail_parser.parse_email_tree(raw, mode="lazy")
    meta = fast_mail_parser.parse_email(raw, mode="metadata")
    root = _fast_part(tree, raw, 0)
    problems = Problems()
    pairs = _ordered_pairs(field_names(raw, header_block_end(raw)), tree.headers)
    sender = _person(meta.from_.display_name, meta.from_.address) if meta.from_ else None
    return _assemble(
        pairs=pairs,
        sender=sender,
        people={
            "to": [_person(a.display_name, a.address) for a in meta.to],
            "cc": [_person(a.display_name, a.address) for a in meta.cc],
            "bcc": [_person(a.display_name, a.address) for a in meta.bcc],
            "reply_to": [_person(a.display_name, a.address) for a in meta.reply_to],
        },
        sent_at=meta.date_parsed,
        content=select_content(root, problems),
        problems=problems,
    )


def _fast_part(node: object, raw: bytes, depth: int) -> Part:
    kind = node.content_type.lower()
    content_type = _first(node.headers, "content-type")
    if depth > MAX_DEPTH:
        return Part("multipart/mixed")  # the body selection reports the depth
    if kind.startswith("multipart/"):
        if not node.children:
            raise _HandOver("a multipart part has no parts (its boundary was not found)")
        boundary = _BOUNDARY.search(content_type)
        if boundary:
            delimiter = ("--" + (boundary.group(1) or boundary.group(2)) + "--").encode(
                "utf-8", "replace"
            )
            if delimiter not in raw:
                raise _HandOver("a multipart part has no closing boundary")
        return Part(kind, children=[_fast_part(c, raw, depth + 1) for c in node.children])
    charset = _CHARSET.search(content_type)
    part = Part(
        kind,
        charset=charset.group(1) if charset else None,
        filename=node.filename or "",
        content_id=(node.content_id or "").strip().strip("<>"),
        disposition=(node.disposition or "").lower(),
        payload=node.content or b"",
    )
    if node.is_message and node.children:
        part.subject = _first(node.children[0].headers, "subject")
    return part


def _first(headers: dict[str, list[str]], lower_name: str) -> str:
    for name, values in headers.items():
        if name.lower() == lower_name and values:
            return values[0]
    return ""


def _ordered_pairs(names: list[str], headers: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The parser's decoded values, put back in wire order (it groups them by name)."""
    used: dict[str, int] = {}
    pairs = []
    for name in names:
        values = headers.get(name)
        index = used.get(name, 0)
        if values is not None and index < len(values):
            pairs.append((name, values[index]))
            used[name] = index + 1
    for name, values in headers.items():
        pairs.extend((name, value) for value in values[used.get(name, 0) :])
    return pairs


# --- tier 2: the stdlib, lenient ----------------------------------------------------------

_DEFECTS = {
    "StartBoundaryNotFoundDefect": "the MIME boundary declared in Content-Type never appears; "
    "the body is shown as it was sent",
    "CloseBoundaryNotFoundDefect": "a multipart part has no closing boundary: "
    "the message may have been cut short",
    "NoBoundaryInMultipartDefect": "a multipart part declares no boundary",
    "FirstHeaderLineIsContinuationDefect": "the header block starts with a continuation line",
    "MisplacedEnvelopeHeaderDefect": "an mbox 'From ' line sits among the headers",
    "MissingHeaderBodySeparatorDefect": "a header line is not a header: "
    "the headers end there and the rest is read as body",
    "InvalidMultipartContentTransferEncodingDefect": "a multipart part declares a "
    "transfer encoding",
    "InvalidBase64PaddingDefect": "base64 with bad padding",
    "InvalidBase64CharactersDefect": "base64 with invalid characters (skipped)",
    "InvalidBase64LengthDefect": "base64 of impossible length: the last bytes are lost",
    "UndecodableBytesDefect": "bytes that do not decode",
}
# Implied by another defect in the list; saying it twice adds nothing.
_QUIET_DEFECTS = {"MultipartInvariantViolationDefect"}


def _parse_lenient(raw: bytes, reason: str) -> ParsedMessage:
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    problems = Problems()
    root = _std_part(message, 0, problems)
    if not problems.malformed:
        # The stdlib found nothing wrong: a quirk of the fast parser, not of the message.
        problems.repair(f"read by the lenient parser ({reason})")
    return _assemble_from_raw(raw, root, problems)


def _std_part(message: StdMessage, depth: int, problems: Problems) -> Part:
    kind = message.get_content_type()
    if depth > MAX_DEPTH:
        return Part("multipart/mixed")  # the body selection reports the depth
    disposition = message.get_content_disposition() or ""
    filename = _std_text(message.get_filename() or "")
    if message.is_multipart():
        _report_defects(message, problems)
        payload = message.get_payload()
        if kind == "message/rfc822" and payload:
            inner = payload[0]
            try:
                embedded = inner.as_bytes()
            except Exception:  # a defective embedded message still has a subject
                embedded = b""
                problems.defect("an embedded message could not be re-serialised")
            return Part(
                kind,
                filename=filename,
                disposition=disposition,
                payload=embedded,
                subject=decode_words(_std_text(inner.get("Subject", ""))),
            )
        if kind.startswith("message/"):
            data = b"\n".join(_std_bytes(sub) for sub in payload)
            return Part(kind, filename=filename, disposition=disposition, payload=data)
        return Part(kind, children=[_std_part(sub, depth + 1, problems) for sub in payload])
    # Decoding first: compat32 records base64 defects while it decodes.
    data = message.get_payload(decode=True) or b""
    _report_defects(message, problems)
    if kind.startswith("multipart/"):
        kind = "text/plain"  # no parts were found: show the body as it came
    try:
        charset = message.get_content_charset()
    except Exception:  # a charset parameter the stdlib itself chokes on
        charset = None
    content_id = _std_text(message.get("Content-ID", "")).strip().strip("<>")
    return Part(
        kind,
        charset=charset,
        filename=decode_words(filename),
        content_id=content_id,
        disposition=disposition,
        payload=data,
    )


def _report_defects(message: StdMessage, problems: Problems) -> None:
    for defect in message.defects:
        name = type(defect).__name__
        if name not in _QUIET_DEFECTS:
            where = message.get_content_type()
            problems.defect(f"{where} part: {_DEFECTS.get(name, _words(name))}")


def _std_text(value: object) -> str:
    """A compat32 header value (str with surrogate-escaped 8-bit bytes, or Header) as text."""
    text = str(value)
    try:
        return decode_bytes(text.encode("ascii", "surrogateescape"))
    except UnicodeEncodeError:
        # Real characters mixed with escaped bytes: drop what UTF-8 cannot carry.
        return text.encode("utf-8", "replace").decode("utf-8")


def _std_bytes(message: StdMessage) -> bytes:
    try:
        return message.as_bytes()
    except Exception:
        return b""


def _words(class_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", class_name.removesuffix("Defect")).lower()


# --- tier 3: the header block only --------------------------------------------------------


def _parse_minimal(raw: bytes, reasons: list[str]) -> ParsedMessage:
    problems = Problems()
    problems.defect("the message could not be parsed; only its headers were read")
    for reason in reasons:
        problems.defect(reason)
    return _assemble_from_raw(raw, None, problems)


def _assemble_from_raw(raw: bytes, root: Part | None, problems: Problems) -> ParsedMessage:
    """Fields for the tiers that read headers themselves (addresses from undecoded values)."""
    fields = raw_fields(raw, header_block_end(raw))
    undecoded: dict[str, str] = {}
    for name, value in fields:
        undecoded.setdefault(name.lower(), value)
    sender = None
    if undecoded.get("from"):
        found = parse_addresses(undecoded["from"])
        sender = _person(*found[0]) if found else None
    date = None
    if undecoded.get("date"):
        try:
            date = parsedate_to_datetime(undecoded["date"])
            date = date if date.tzinfo else date.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError, OverflowError):
            date = None
    return _assemble(
        pairs=[(name, decode_words(value)) for name, value in fields],
        sender=sender,
        people={
            kind: [_person(n, a) for n, a in parse_addresses(undecoded.get(name, ""))]
            for kind, name in (("to", "to"), ("cc", "cc"), ("bcc", "bcc"), ("reply_to", "reply-to"))
        },
        sent_at=date,
        content=select_content(root, problems),
        problems=problems,
    )


# --- common to every tier -----------------------------------------------------------------


def _assemble(
    *,
    pairs: list[tuple[str, str]],
    sender: Person | None,
    people: dict[str, list[Person | None]],
    sent_at: datetime | None,
    content: Content,
    problems: Problems,
) -> ParsedMessage:
    first: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name, value in pairs:
        key = name.lower()
        first.setdefault(key, value)
        counts[key] = counts.get(key, 0) + 1
    if not pairs:
        problems.defect("no header fields: this does not look like an e-mail message")
    for key, label in (("from", "From"), ("subject", "Subject"), ("date", "Date")):
        if counts.get(key, 0) > 1:
            problems.repair(f"{counts[key]} {label} headers; the first one is used")
    if counts.get("message-id", 0) > 1:
        problems.repair(f"{counts['message-id']} Message-ID headers; the first one is used")

    ids = message_ids(first.get("message-id", ""))
    if not ids:
        problems.repair("no Message-ID")
    if "from" not in first:
        problems.repair("no From header")
    elif sender is None:
        name, email = best_effort_sender(first["from"])
        sender = _person(name, email)
        if sender is None and name.strip():
            sender = Person(name=_SPACES.sub(" ", _clean(name)).strip()[:300], email="")
        problems.repair("the From header is not a valid address")
    if "date" not in first:
        problems.repair("no Date header")
    elif sent_at is None:
        problems.repair(f"the Date header is not a date: {first['date'][:100]!r}")

    references = _unique(message_ids(first.get("references", "")))[-MAX_REFERENCES:]
    in_reply_to = message_ids(first.get("in-reply-to", ""))
    text, html = content.text, content.html
    had_nul = "\x00" in text or "\x00" in html or any("\x00" in v for _, v in pairs)
    if had_nul:
        problems.repair("NUL bytes were removed")
    parsed = ParsedMessage(
        mime_id=_clean(ids[0])[:998] if ids else "",
        in_reply_to=_clean(in_reply_to[0])[:998] if in_reply_to else "",
        references=[_clean(r)[:998] for r in references],
        subject=_SPACES.sub(" ", _clean(first.get("subject", ""))).strip()[:SUBJECT_LIMIT],
        sender=sender,
        reply_to=[p for p in people["reply_to"] if p][:MAX_RECIPIENTS],
        sent_at=sent_at,
        headers=_stored_headers(pairs, problems),
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


def _person(name: str | None, address: str | None) -> Person | None:
    email = _clean(address or "").strip().strip("<>").lower()
    if not _ADDRESS.match(email) or len(email) > 320:
        return None
    return Person(name=_SPACES.sub(" ", _clean(name or "")).strip().strip("\"'")[:300], email=email)


def _display(person: Person) -> str:
    if not person.name:
        return person.email
    name = f'"{person.name}"' if any(c in person.name for c in ',;:<>@"()[]') else person.name
    return f"{name} <{person.email}>"


def _stored_headers(pairs: list[tuple[str, str]], problems: Problems) -> list[list[str]]:
    stored, total = [], 0
    for name, value in pairs[:MAX_HEADERS]:
        value = _clean(value)
        if len(value) > HEADER_VALUE_LIMIT:
            problems.repair(f"the {name[:50]} header is {len(value)} characters; stored cut short")
            value = value[:HEADER_VALUE_LIMIT] + " [...]"
        total += len(name) + len(value)
        if total > HEADERS_TOTAL_LIMIT:
            problems.repair("the header block is too large; later headers are only in the source")
            break
        stored.append([_clean(name)[:200], value])
    if len(pairs) > MAX_HEADERS:
        problems.repair(f"{len(pairs)} header fields; only the first {MAX_HEADERS} are listed")
    return stored


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
