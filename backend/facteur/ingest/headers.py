"""Header fields read straight from the raw bytes: the header block, unfolding, decoding.

The fast parser decodes headers itself; these functions serve the lenient
fallback (and give the fast path the wire order of the fields, which its
per-name dictionary loses). Pure functions, no database.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from email.utils import getaddresses

from facteur.ingest.text import decode_bytes

# A field starts at the beginning of a line with a name of printable characters but ':'.
_FIELD_START = re.compile(rb"^([!-9;-~]+)[ \t]*:", re.MULTILINE)
_LINE = re.compile(rb"\r?\n")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
_BARE_ADDRESS = re.compile(r"[^\s<>\"'(),;:@]+@[^\s<>\"'(),;:@]+\.[^\s<>\"'(),;:@]+")


def header_block_end(raw: bytes) -> int:
    """Offset where the body starts: after the first empty line, or the end when there is none."""
    if raw.startswith((b"\r\n", b"\n")):
        return 2 if raw.startswith(b"\r\n") else 1
    crlf = raw.find(b"\r\n\r\n")
    # Bare LFs only count before the first CRLF blank line (a search bounded to the headers).
    lf = raw.find(b"\n\n", 0, crlf if crlf >= 0 else len(raw))
    if lf >= 0:
        return lf + 2
    return crlf + 4 if crlf >= 0 else len(raw)


def field_names(raw: bytes, end: int) -> list[str]:
    """Names of the header fields in wire order (duplicates included)."""
    return [m.decode("latin-1") for m in _FIELD_START.findall(raw, 0, end)]


def raw_fields(raw: bytes, end: int) -> list[tuple[str, str]]:
    """(name, value) of every header field, unfolded, values decoded from 8-bit but not RFC 2047.

    Lines before the first field and lines without a colon are skipped; the
    caller keeps the raw message, so nothing is lost by ignoring them here.
    """
    fields: list[tuple[str, list[bytes]]] = []
    for line in _LINE.split(raw[:end]):
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            if fields:
                fields[-1][1].append(line)
            continue
        name, colon, value = line.partition(b":")
        if colon and name and _FIELD_START.match(line):
            fields.append((name.strip().decode("latin-1"), [value]))
    return [
        (name, decode_bytes(b"".join(parts)).strip().replace("\t", " ")) for name, parts in fields
    ]


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words; whitespace between two adjacent words is dropped."""
    if "=?" not in value:
        return value
    value = _BETWEEN_WORDS.sub(r"\1\2", value)
    return _ENCODED_WORD.sub(_decode_word, value)


def _decode_word(match: re.Match[str]) -> str:
    charset, encoding, text = match.groups()
    charset = charset.partition("*")[0]  # RFC 2231 language suffix: utf-8*fr
    try:
        if encoding in "bB":
            padded = text + "=" * (-len(text) % 4)
            data = base64.b64decode(padded.encode("ascii", "replace"), validate=False)
        else:
            data = _QP_ESCAPE.sub(
                lambda m: bytes([int(m.group(1), 16)]), text.replace("_", " ").encode("latin-1")
            )
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return match.group(0)
    try:
        codecs.lookup(charset)
    except LookupError:
        return decode_bytes(data)
    try:
        return data.decode(charset)
    except (UnicodeDecodeError, LookupError, ValueError):
        return decode_bytes(data)


def message_ids(value: str) -> list[str]:
    """The ids of a Message-ID / In-Reply-To / References value, without angle brackets."""
    found = _ANGLE_ID.findall(value)
    if found:
        return found
    # Some agents drop the brackets; take bare tokens that look like ids.
    return [token for token in re.split(r"[\s,]+", value) if "@" in token]


def parse_addresses(value: str) -> list[tuple[str, str]]:
    """(name, address) pairs of an address header's raw value; names RFC 2047-decoded."""
    pairs = []
    for name, address in getaddresses([value]):
        address = address.strip()
        if "@" in address and len(address) > 2:
            pairs.append((decode_words(name).strip(), address))
    return pairs


def best_effort_sender(value: str) -> tuple[str, str]:
    """(name, address) out of a From value no parser accepted: an address if one shows."""
    decoded = decode_words(value).strip()
    found = _BARE_ADDRESS.search(decoded)
    if found:
        name = decoded.replace(found.group(0), "").strip(" <>\"'")
        return name, found.group(0)
    return decoded.strip("\"' "), ""
