"""Tiers 2 and 3 of parsing: the stdlib, which accepts anything, then the header block alone.

The stdlib ``email`` package with policy compat32 reads whatever the fast
parser handed over and lists the defects it met; each becomes a parse error
that makes the message malformed. When even it fails (hostile nesting beyond
Python's recursion limit), only the header block is read, by hand.
"""

from __future__ import annotations

import re
from datetime import UTC
from email import policy
from email.message import Message as StdMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from facteur.ingest.headers import decode_words, header_block_end, parse_addresses, raw_fields
from facteur.ingest.mime import MAX_DEPTH, Part
from facteur.ingest.problems import Problems
from facteur.ingest.reading import Reading
from facteur.ingest.text import decode_bytes

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


def read_lenient(raw: bytes, reason: str) -> Reading:
    """Read with the stdlib; ``reason`` is why the fast parser handed over."""
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    problems = Problems()
    root = _part(message, 0, problems)
    if not problems.malformed:
        # The stdlib found nothing wrong: a quirk of the fast parser, not of the message.
        problems.repair(f"read by the lenient parser ({reason})")
    return _with_raw_headers(raw, root, problems)


def read_headers_only(raw: bytes, reasons: list[str]) -> Reading:
    problems = Problems()
    problems.defect("the message could not be parsed; only its headers were read")
    for reason in reasons:
        problems.defect(reason)
    return _with_raw_headers(raw, None, problems)


def _with_raw_headers(raw: bytes, root: Part | None, problems: Problems) -> Reading:
    """Headers read by hand; addresses parsed before their encoded words are decoded."""
    fields = raw_fields(raw, header_block_end(raw))
    undecoded: dict[str, str] = {}
    for name, value in fields:
        undecoded.setdefault(name.lower(), value)
    senders = parse_addresses(undecoded.get("from", ""))
    date = None
    if undecoded.get("date"):
        try:
            date = parsedate_to_datetime(undecoded["date"])
            date = date if date.tzinfo else date.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError, OverflowError):
            date = None
    return Reading(
        pairs=[(name, decode_words(value)) for name, value in fields],
        sender=senders[0] if senders else None,
        people={
            kind: parse_addresses(undecoded.get(name, ""))
            for kind, name in (("to", "to"), ("cc", "cc"), ("bcc", "bcc"), ("reply_to", "reply-to"))
        },
        sent_at=date,
        root=root,
        problems=problems,
    )


def _part(message: StdMessage, depth: int, problems: Problems) -> Part:
    kind = message.get_content_type()
    if depth > MAX_DEPTH:
        return Part("multipart/mixed")  # the body selection reports the depth
    disposition = message.get_content_disposition() or ""
    filename = _text(message.get_filename() or "")
    if message.is_multipart():
        _report_defects(message, problems)
        payload = message.get_payload()
        if kind == "message/rfc822" and payload:
            inner = payload[0]
            return Part(
                kind,
                filename=filename,
                disposition=disposition,
                payload=_as_bytes(inner, problems),
                subject=decode_words(_text(inner.get("Subject", ""))),
            )
        if kind.startswith("message/"):  # delivery-status and the like: blocks of headers
            data = b"\n".join(_as_bytes(block, problems) for block in payload)
            return Part(kind, filename=filename, disposition=disposition, payload=data)
        return Part(kind, children=[_part(sub, depth + 1, problems) for sub in payload])
    # Decoding first: compat32 records base64 defects while it decodes.
    data = message.get_payload(decode=True) or b""
    _report_defects(message, problems)
    if kind.startswith("multipart/"):
        kind = "text/plain"  # no parts were found: show the body as it came
    try:
        charset = message.get_content_charset()
    except Exception:  # a charset parameter the stdlib itself chokes on
        charset = None
    return Part(
        kind,
        charset=charset,
        filename=decode_words(filename),
        content_id=_text(message.get("Content-ID", "")).strip().strip("<>"),
        disposition=disposition,
        payload=data,
    )


def _report_defects(message: StdMessage, problems: Problems) -> None:
    for defect in message.defects:
        name = type(defect).__name__
        if name not in _QUIET_DEFECTS:
            where = message.get_content_type()
            problems.defect(f"{where} part: {_DEFECTS.get(name, _words(name))}")


def _text(value: object) -> str:
    """A compat32 header value (str with surrogate-escaped 8-bit bytes, or Header) as text."""
    text = str(value)
    try:
        return decode_bytes(text.encode("ascii", "surrogateescape"))
    except UnicodeEncodeError:
        # Real characters mixed with escaped bytes: drop what UTF-8 cannot carry.
        return text.encode("utf-8", "replace").decode("utf-8")


def _as_bytes(message: StdMessage, problems: Problems) -> bytes:
    try:
        return message.as_bytes()
    except Exception:  # a defective embedded message still has a subject
        problems.defect("an embedded message could not be re-serialised")
        return b""


def _words(class_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", class_name.removesuffix("Defect")).lower()
