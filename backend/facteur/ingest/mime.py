"""The MIME tree both parsers produce, and what the store keeps of it.

Choosing what is body and what is a file:

- ``text/plain`` and ``text/html`` parts not marked ``attachment`` are body. In
  ``multipart/alternative`` the last (richest) rendering of each kind wins; in
  every other multipart (mixed, related, signed...) the pieces are joined in
  order, which is how Apple Mail's text-image-text messages read.
- An image (or any part) with a Content-ID that the HTML body references as
  ``cid:`` is inline: stored with ``is_inline=True`` and not listed as a
  download. Marked inline but not referenced, it is an ordinary attachment.
- ``text/calendar`` not marked ``attachment`` (an invitation) is kept as an
  inline part with its own content type, so the webmail can offer to answer it;
  it is not a downloadable attachment. An ``.ics`` file attached as such is.
- ``message/rfc822`` (a forwarded or bounced message) is an attachment named
  after its subject; its own parts are not merged into the body.

Pure functions, no database.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import unquote

from facteur.ingest.problems import Problems
from facteur.ingest.text import decode_text

# Deeper than this is an attack or a bug; real mail stays under ten levels.
MAX_DEPTH = 100
# Bodies are stored in full up to this many characters; the raw message keeps the rest.
BODY_LIMIT = 2_000_000
# Parts stored as attachments; more is a mail bomb, and the raw message keeps them all.
MAX_FILES = 500
_CID_REF = re.compile(r"""cid:([^"'\s>)]+)""", re.IGNORECASE)
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(eq=False)
class Part:
    """One node of a message's MIME tree, whichever parser read it."""

    content_type: str  # "type/subtype", lower case
    charset: str | None = None
    filename: str = ""
    content_id: str = ""  # without angle brackets
    disposition: str = ""  # "inline", "attachment" or "" when absent
    # A leaf's transfer-decoded bytes; for message/rfc822 the embedded message.
    payload: bytes | None = None
    children: list[Part] = field(default_factory=list)
    subject: str = ""  # of an embedded message, to name its .eml


@dataclass(eq=False)
class FilePart:
    """A part stored as an Attachment row with its bytes in a blob."""

    filename: str
    content_type: str
    data: bytes
    content_id: str = ""
    is_inline: bool = False


@dataclass
class Content:
    text: str = ""
    html: str = ""
    files: list[FilePart] = field(default_factory=list)


@dataclass
class _Gathered:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    files: list[Part] = field(default_factory=list)

    def extend(self, other: _Gathered) -> None:
        self.plain += other.plain
        self.html += other.html
        self.files += other.files


def select_content(root: Part | None, problems: Problems) -> Content:
    if root is None:
        return Content()
    gathered = _gather(root, 0, problems)
    text = _join(gathered.plain, "text", problems)
    html = _join(gathered.html, "HTML", problems)
    referenced = set()
    if html and any(part.content_id for part in gathered.files):
        referenced = {unquote(cid).lower() for cid in _CID_REF.findall(html)}
    if len(gathered.files) > MAX_FILES:
        problems.defect(
            f"{len(gathered.files)} parts; only the first {MAX_FILES} are stored separately"
        )
    files = [
        _file_part(part, position, referenced)
        for position, part in enumerate(gathered.files[:MAX_FILES], start=1)
    ]
    return Content(text=text, html=html, files=files)


def _gather(part: Part, depth: int, problems: Problems) -> _Gathered:
    gathered = _Gathered()
    if depth > MAX_DEPTH:
        problems.defect(f"MIME parts nested deeper than {MAX_DEPTH} levels were ignored")
        return gathered
    if part.content_type.startswith("multipart/"):
        results = [_gather(child, depth + 1, problems) for child in part.children]
        if part.content_type == "multipart/alternative":
            # Alternatives render the same content: keep the last of each kind.
            gathered.plain = next((r.plain for r in reversed(results) if r.plain), [])
            gathered.html = next((r.html for r in reversed(results) if r.html), [])
            gathered.files = [f for r in results for f in r.files]
        else:
            for result in results:
                gathered.extend(result)
        return gathered
    kind = part.content_type
    if kind in ("text/plain", "text/html") and part.disposition != "attachment":
        is_html = kind == "text/html"
        text, note = decode_text(part.payload or b"", part.charset, html_part=is_html)
        if note:
            problems.repair(f"{kind} part: {note}")
        (gathered.html if is_html else gathered.plain).append(text)
    else:
        gathered.files.append(part)
    return gathered


def _join(pieces: list[str], what: str, problems: Problems) -> str:
    joined = "\n".join(p for p in pieces if p.strip()).replace("\r\n", "\n")
    if len(joined) > BODY_LIMIT:
        problems.repair(f"the {what} body was cut at {BODY_LIMIT} characters")
        joined = joined[:BODY_LIMIT]
    return joined


def _file_part(part: Part, position: int, referenced: set[str]) -> FilePart:
    kind = part.content_type[:255]
    explicit_attachment = part.disposition == "attachment"
    is_calendar = kind == "text/calendar" and not explicit_attachment
    is_inline = is_calendar or (
        bool(part.content_id) and part.content_id.lower() in referenced and not explicit_attachment
    )
    name = clean_filename(part.filename)
    if not name and kind == "message/rfc822":
        name = clean_filename(f"{part.subject.strip() or 'message'}.eml")
    if not name:
        stem = "invite" if is_calendar else f"part-{position}"
        name = stem + (".ics" if is_calendar else mimetypes.guess_extension(kind) or ".bin")
    return FilePart(
        filename=name,
        content_type=kind,
        data=part.payload or b"",
        content_id=part.content_id[:998],
        is_inline=is_inline,
    )


def clean_filename(name: str) -> str:
    """A file name safe to offer for download: no path, no control characters, <= 255 chars."""
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE_NAME.sub("", name).replace("\\", "/").rsplit("/", 1)[-1].strip(" .")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = stem[: 254 - len(ext)] + dot + ext if dot and len(ext) < 20 else name[:255]
    return name
