"""The pure parsing functions: charsets, encoded words, subjects, and the fallback tiers."""

from __future__ import annotations

import pytest

from facteur.ingest.headers import decode_words, message_ids, raw_fields
from facteur.ingest.mime import clean_filename
from facteur.ingest.parse import parse_message
from facteur.ingest.subjects import has_reply_prefix, strip_prefixes, subject_key
from facteur.ingest.text import decode_text, html_to_text


@pytest.mark.parametrize(
    ("data", "label", "text", "guessed"),
    [
        ("café".encode(), "utf-8", "café", False),
        ("café".encode("latin-1"), "iso-8859-1", "café", False),
        ("café".encode(), "iso-8859-1", "café", False),  # UTF-8 labelled latin-1
        ("café".encode(), "us-ascii", "café", False),
        ("€5".encode("cp1252"), "utf-8", "€5", True),
        ("café".encode(), "x-no-such-charset", "café", True),
        ("Привет".encode("koi8-r"), "koi8-r", "Привет", False),
        ("日本".encode("shift_jis"), "Shift-JIS", "日本", False),
        ("中文".encode("gb18030"), "gb2312", "中文", False),
        (b"\x81\x8d", "utf-8", "\x81\x8d", True),  # undefined in cp1252: latin-1 at last
        ("café".encode(), "base64", "café", True),  # a codec that is not a text encoding
    ],
)
def test_decode_text(data, label, text, guessed):
    decoded, note = decode_text(data, label)
    assert decoded == text
    assert bool(note) is guessed


def test_html_charset_from_meta_when_the_header_says_nothing():
    html = '<html><head><meta charset="windows-1251"></head><body>Привет</body></html>'
    decoded, _ = decode_text(html.encode("cp1251"), None, html_part=True)
    assert "Привет" in decoded


def test_html_to_text_drops_what_is_not_shown():
    html = "<html><head><title>T</title><style>p{}</style></head><body><p>A&amp;B</p>"
    html += "<script>x()</script><!-- hidden --><br>C</body></html>"
    assert html_to_text(html).split() == ["A&B", "C"]


@pytest.mark.parametrize(
    ("value", "decoded"),
    [
        ("=?utf-8?q?caf=C3=A9?=", "café"),
        ("=?ISO-8859-1?B?Y2Fm6Q==?=", "café"),
        ("=?utf-8?b?Y2Fmw6k?=", "café"),  # missing padding
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),  # whitespace between words goes
        ("=?utf-8*fr?q?caf=C3=A9?=", "café"),  # RFC 2231 language
        ("=?x-unknown?q?caf=C3=A9?=", "café"),
        ("plain =?bad", "plain =?bad"),
    ],
)
def test_decode_words(value, decoded):
    assert decode_words(value) == decoded


def test_message_ids():
    assert message_ids("<a@x> <b@y>\r\n <c@z>") == ["a@x", "b@y", "c@z"]
    assert message_ids("<a@x> (Bob's message of Monday)") == ["a@x"]
    assert message_ids("bare@id.example") == ["bare@id.example"]
    assert message_ids("") == []


def test_raw_fields_unfold_and_decode_8bit():
    raw = "Subject: caf\xe9\r\n  suite\r\nX-Utf8: été\r\ngarbage line\r\n\r\nbody".encode("latin-1")
    raw = raw.replace("été".encode("latin-1"), "été".encode())
    assert raw_fields(raw, raw.index(b"\r\n\r\n")) == [
        ("Subject", "café  suite"),
        ("X-Utf8", "été"),
    ]


@pytest.mark.parametrize(
    ("subject", "display", "key", "reply"),
    [
        ("Re: Budget", "Budget", "budget", True),
        ("RE : Re[2]: FW: Fwd: TR: Budget", "Budget", "budget", True),
        ("Réf: AW: WG: Angebot", "Angebot", "angebot", True),
        ("[ext] Re: Lunch", "[ext] Re: Lunch", "lunch", True),
        ("Recette", "Recette", "recette", False),
        ("Re: hello", "hello", "", True),
        ("Re:", "", "", True),
        ("Re: ok", "ok", "", True),
    ],
)
def test_subjects(subject, display, key, reply):
    assert strip_prefixes(subject) == display
    assert subject_key(subject) == key
    assert has_reply_prefix(subject) is reply


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("a\x00b\x1fc.txt", "abc.txt"),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
    ],
)
def test_clean_filename(name, clean):
    assert clean_filename(name) == clean


def nested(depth: int) -> bytes:
    parts = "".join(
        f'--=_{i}_=\r\nContent-Type: multipart/mixed; boundary="=_{i + 1}_="\r\n\r\n'
        for i in range(depth)
    )
    closing = "".join(f"--=_{i}_=--\r\n" for i in reversed(range(depth)))
    return (
        "From: a@b.example\r\nSubject: deep\r\n"
        "Content-Type: multipart/mixed; boundary==_0_=\r\n\r\n"
        f"{parts}--=_{depth}_=\r\nContent-Type: text/plain\r\n\r\nbottom\r\n--=_{depth}_=--\r\n"
        f"{closing}"
    ).encode()


@pytest.mark.parametrize("depth", [120, 300, 3000])
def test_hostile_nesting_is_flagged_not_fatal(depth):
    parsed = parse_message(nested(depth))
    assert parsed.is_malformed
    assert parsed.subject == "deep"
    assert parsed.sender.email == "a@b.example"


def test_many_parts_are_capped():
    part = "--b\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n"
    raw = (
        "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        + part * 40_000
        + "--b--\r\n"
    ).encode()
    parsed = parse_message(raw)
    assert len(parsed.files) == 500
    assert parsed.is_malformed
