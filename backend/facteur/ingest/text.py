"""Bytes to text: charset labels that lie or mean nothing, and HTML reduced to text.

Pure functions, no database.
"""

from __future__ import annotations

import codecs
import html
import re

# Labels that say "western bytes" decode as windows-1252, as browsers do (WHATWG).
_WESTERN = {"us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin1", "latin-1", "cp1252"}
# Labels mail agents write that Python does not know, or knows as a narrower codec.
_ALIASES = {
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "x-unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "unknown": "",
    "default": "",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "x-mac-roman": "mac-roman",
    "shift-jis": "shift_jis",
    "x-sjis": "shift_jis",
    "windows-874": "cp874",
    "x-cp1250": "cp1250",
    "x-cp1251": "cp1251",
}
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)


def decode_bytes(data: bytes) -> str:
    """Undeclared 8-bit bytes (raw header values): UTF-8 if valid, else windows-1252 or latin-1."""
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def codec_for(label: str | None) -> str | None:
    """The Python codec of a charset label, "" for labels that mean "unknown", None if unknown."""
    if not label:
        return ""
    name = label.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    if not name or name in _WESTERN:
        return "" if not name else "cp1252"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_text(data: bytes, label: str | None, *, html_part: bool = False) -> tuple[str, str]:
    """Decode a text part; returns (text, note) where note says what was guessed, or "".

    The declared charset is trusted when it decodes cleanly; UTF-8 is tried
    before a western label because UTF-8 mislabelled as latin-1 is common and
    valid UTF-8 by accident is not.
    """
    if html_part and not label:
        found = _META_CHARSET.search(data, 0, 4096)
        label = found.group(1).decode("ascii") if found else None
    codec = codec_for(label)
    if data.isascii():
        return data.decode("ascii"), ""
    if codec and codec != "cp1252":
        try:
            return data.decode(codec), ""
        except (UnicodeDecodeError, LookupError, ValueError):  # also codecs that are not text
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return text, "" if codec in ("", "cp1252") else _guess_note(label, codec, "utf-8")
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        return text, _guess_note(label, codec, "latin-1")
    return text, "" if codec in ("", "cp1252") else _guess_note(label, codec, "windows-1252")


def _guess_note(label: str | None, codec: str | None, used: str) -> str:
    if codec is None:
        return f"unknown charset {label!r}; decoded as {used}"
    return f"text does not match its charset {label!r}; decoded as {used}"


_INVISIBLE = re.compile(
    r"<(head|style|script|title)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_BREAKS = re.compile(r"<(?:br|/p|/div|/tr|/li|/h[1-6]|/table|/blockquote)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
# Snippets and search only need the start of a long newsletter.
HTML_TEXT_LIMIT = 256 * 1024


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body: invisible elements dropped, tags removed, entities decoded."""
    markup = _INVISIBLE.sub(" ", markup[:HTML_TEXT_LIMIT])
    markup = _BREAKS.sub("\n", markup)
    return html.unescape(_TAG.sub(" ", markup))
