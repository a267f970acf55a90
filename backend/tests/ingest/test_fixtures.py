"""Every nasty fixture is stored, nothing raises, and the fields that matter come out right."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from facteur.blobs.services import blob_read
from facteur.ingest.services import Outcome, ingest_message
from facteur.mail.models import Message
from tests.ingest.conftest import FIXTURES, fixture_bytes


@dataclass
class Expected:
    subject: str
    sender: str | None  # e-mail address; "" when only a name survives, None for no sender
    text: str = ""  # contained in text_body
    html: str = ""  # contained in html_body
    snippet: str = ""  # start of the snippet
    files: list[tuple[str, bool]] = field(default_factory=list)  # (filename, is_inline)
    malformed: bool = False
    error: str = ""  # contained in one of parse_errors
    sent_at: datetime | None = None
    mime_id: str | None = None


EXPECTED = {
    "bad_addresses.eml": Expected(
        "Awkward addresses", "", text="Who is this from?", error="From header is not a valid"
    ),
    "base64_garbage.eml": Expected(
        "Corrupt attachment",
        "jade@sender.example",
        text="See the attached report.",
        files=[("report.pdf", False)],
        malformed=True,
        error="base64",
    ),
    "boundary_prefix.eml": Expected(
        "Boundaries that prefix each other",
        "xavier@sender.example",
        text="Plain text inside a boundary",
        html="<p>HTML inside a boundary",
        files=[("data.txt", False)],
    ),
    "broken_boundary.eml": Expected(
        "Broken boundary",
        "dan@sender.example",
        text="The body sits between boundaries",
        malformed=True,
        error="boundary declared in Content-Type never appears",
    ),
    "calendar_invite.eml": Expected(
        "Invitation: Project kick-off @ Mon 10 Feb 2025 10:00",
        "paul@sender.example",
        text="You are invited to Project kick-off.",
        html="<b>Project kick-off</b>",
        files=[("invite.ics", True), ("invite.ics", False)],
    ),
    "crlf_line_endings.eml": Expected(
        "CRLF line endings",
        "tom@sender.example",
        text="Lines end with CRLF.\n",
        html="<p>Lines end with CRLF.</p>",
    ),
    "deep_nesting.eml": Expected(
        "Fifty levels deep", "lara@sender.example", text="Deep inside fifty levels."
    ),
    "duplicate_headers.eml": Expected(
        "First subject",
        "victor@sender.example",
        text="Which subject wins?",
        error="2 Subject headers",
        sent_at=datetime(2025, 2, 8, 11, 0, tzinfo=UTC),
        mime_id="dup-first@sender.example",
    ),
    "empty_body.eml": Expected("Empty body", "rita@sender.example", snippet=""),
    "encoded_subjects.eml": Expected(
        "Résumé café Привет 同じ €100", "privet@sender.example", text="five charsets"
    ),
    "forwarded_rfc822.eml": Expected(
        "Fwd: Quarterly figures",
        "mia@sender.example",
        text="Forwarding the figures below.",
        files=[("Quarterly figures.eml", False)],
    ),
    "header_8bit_latin1.eml": Expected(
        "Présentation du café", "francois@sender.example", text="Voilà la présentation."
    ),
    "header_8bit_utf8.eml": Expected(
        "Réunion: ordre du jour — été 2025", "zoe@sender.example", text="pièce jointe…"
    ),
    "headers_only.eml": Expected("Only headers", "sam@sender.example"),
    "html_only.eml": Expected(
        "HTML only",
        "quentin@sender.example",
        html="<h1>Hello&nbsp;Alice</h1>",
        snippet="Hello Alice This message has no plain-text part & only HTML.",
    ),
    "inline_cid_related.eml": Expected(
        "Newsletter with a logo",
        "olga@sender.example",
        text="Plain text version.",
        html='src="cid:logo@olga.example"',
        files=[("logo.png", True), ("photo.png", False)],
    ),
    "lf_line_endings.eml": Expected(
        "Bare LF line endings",
        "tom@sender.example",
        text="Lines end with LF only.",
        html="<p>Lines end with LF only.</p>",
    ),
    "long_header.eml": Expected(
        "A header line over 10 kB",
        "list@sender.example",
        text="Short body after a very long header.",
        error="X-Spam-Report header is 12000 characters",
    ),
    "mislabelled_charset.eml": Expected(
        "Mislabelled charset",
        "claire@sender.example",
        text="Réunion déplacée à jeudi, café offert \u2013 € 5.",
        error="does not match its charset",
    ),
    "missing_closing_boundary.eml": Expected(
        "Missing closing boundary",
        "eve@sender.example",
        text="First part, still readable.",
        files=[("notes.txt", False)],
        malformed=True,
        error="no closing boundary",
    ),
    "missing_date.eml": Expected(
        "No date", "gus@sender.example", text="When was this written?", error="no Date header"
    ),
    "missing_from.eml": Expected(
        "Nobody sent this", None, text="without a From header", error="no From header"
    ),
    "missing_message_id.eml": Expected(
        "No Message-ID",
        "hana@sender.example",
        text="has no Message-ID",
        error="no Message-ID",
        mime_id="",
    ),
    "mixed_text_parts.eml": Expected(
        "Apple-style mixed text parts",
        "wendy@sender.example",
        text="Before the picture.\n\nAfter the picture.",
        files=[("chart.png", False), ("readme.txt", False)],
    ),
    "not_an_email.eml": Expected("", None, malformed=True, error="does not look like an e-mail"),
    "nul_bytes.eml": Expected(
        "NUL bytes inside",
        "uma@sender.example",
        text="Text with a NUL byte in the middle.",
        error="NUL bytes were removed",
    ),
    "qp_garbage.eml": Expected(
        "Broken quoted-printable", "karl@sender.example", text="Price = 10 €, discount =ZZ"
    ),
    "reply_in_thread.eml": Expected(
        "RE: Re: [ext] Lunch on Friday?", "alice@facteur.test", text="Friday works."
    ),
    "rfc2231_filename.eml": Expected(
        "RFC 2231 filename",
        "nina@sender.example",
        text="long, non-ASCII name",
        files=[("Procès-verbal de la réunion du conseil d'administration.docx", False)],
    ),
    "unknown_charset.eml": Expected(
        "Unknown charset label",
        "bob@sender.example",
        text="voilà le café promis. Ça marche ?",
        error="unknown charset 'x-klingon-unknown'",
        sent_at=datetime(2025, 2, 3, 9, 0, tzinfo=UTC),
    ),
    "unparseable_date.eml": Expected(
        "Strange date",
        "ivan@sender.example",
        text="The Date header is prose.",
        error="the Date header is not a date",
    ),
}


def test_every_fixture_has_expectations():
    names = {p.name for p in FIXTURES.glob("*.eml")}
    assert names == set(EXPECTED)
    assert len(names) >= 22


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_is_stored(name, alice):
    raw = fixture_bytes(name)
    expected = EXPECTED[name]

    result = ingest_message(raw=raw, recipients=["alice@facteur.test"])

    [outcome] = result.recipients
    assert outcome.outcome == Outcome.STORED
    assert result.is_malformed is expected.malformed
    message = Message.objects.get(pk=outcome.message_id)
    assert message.mailbox_id == alice.pk
    assert message.subject == expected.subject
    if expected.sender is None:
        assert (message.sender_name, message.sender_email) == ("", "")
    else:
        assert message.sender_email == expected.sender
    assert expected.text in message.text_body
    assert expected.html in message.html_body
    assert message.snippet.startswith(expected.snippet)
    assert len(message.snippet) <= 200
    assert message.is_malformed is expected.malformed
    assert "\x00" not in message.text_body + message.subject
    if expected.error:
        assert any(expected.error in e for e in message.parse_errors), message.parse_errors
    if expected.sent_at:
        assert message.sent_at == expected.sent_at
    if expected.mime_id is not None:
        assert message.mime_id == expected.mime_id
    files = list(message.attachments.order_by("position").values_list("filename", "is_inline"))
    assert files == expected.files
    assert message.has_attachments is any(not inline for _, inline in expected.files)
    # The raw bytes are always kept, byte for byte.
    assert blob_read(blob=message.raw_blob) == raw
    assert message.size == len(raw)
    assert message.thread.message_count == 1


def test_headers_are_kept_in_wire_order(alice):
    result = ingest_message(
        raw=fixture_bytes("duplicate_headers.eml"), recipients=["alice@facteur.test"]
    )
    message = Message.objects.get(pk=result.recipients[0].message_id)
    names = [name for name, _ in message.headers]
    assert names[:4] == ["From", "From", "To", "Subject"]
    assert ["Subject", "Second subject"] in message.headers
    received = [value for name, value in message.headers if name == "Received"]
    assert received[0].startswith("from a.example")


def test_long_header_is_stored_cut_and_references_are_bounded(alice):
    result = ingest_message(raw=fixture_bytes("long_header.eml"), recipients=["alice@facteur.test"])
    message = Message.objects.get(pk=result.recipients[0].message_id)
    values = dict(message.headers)
    assert len(values["X-Spam-Report"]) < 4100
    assert values["X-Spam-Report"].endswith("[...]")
    assert len(message.references) == 100
    assert message.references[-1] == "ref-0249.abcdefghij@lists.sender.example"
    assert message.in_reply_to == "ref-0249.abcdefghij@lists.sender.example"


def test_recipients_come_from_to_and_cc(alice):
    result = ingest_message(
        raw=fixture_bytes("encoded_subjects.eml"), recipients=["alice@facteur.test"]
    )
    message = Message.objects.get(pk=result.recipients[0].message_id)
    rows = list(
        message.recipients.order_by("kind", "position").values_list("kind", "name", "email")
    )
    assert rows == [
        ("cc", "山田太郎", "yamada@sender.example"),
        ("to", "Jörg Müller", "jorg@facteur.test"),
        ("to", "", "alice@facteur.test"),
    ]
    assert message.sender_name == "Привет"
    assert set(message.recipients.values_list("delivery_status", flat=True)) == {""}


def test_calendar_part_is_kept_but_not_a_download(alice):
    result = ingest_message(
        raw=fixture_bytes("calendar_invite.eml"), recipients=["alice@facteur.test"]
    )
    message = Message.objects.get(pk=result.recipients[0].message_id)
    invite = message.attachments.get(content_type="text/calendar")
    assert invite.is_inline
    assert b"METHOD:REQUEST" in blob_read(blob=invite.blob)
    attached = message.attachments.get(content_type="application/ics")
    assert not attached.is_inline


def test_inline_image_keeps_its_content_id(alice):
    result = ingest_message(
        raw=fixture_bytes("inline_cid_related.eml"), recipients=["alice@facteur.test"]
    )
    message = Message.objects.get(pk=result.recipients[0].message_id)
    logo = message.attachments.get(filename="logo.png")
    assert logo.content_id == "logo@olga.example"
    assert blob_read(blob=logo.blob).startswith(b"\x89PNG")
    assert logo.size == 70


def test_forwarded_message_is_an_eml_attachment(alice):
    result = ingest_message(
        raw=fixture_bytes("forwarded_rfc822.eml"), recipients=["alice@facteur.test"]
    )
    message = Message.objects.get(pk=result.recipients[0].message_id)
    forwarded = message.attachments.get()
    assert forwarded.content_type == "message/rfc822"
    data = blob_read(blob=forwarded.blob)
    assert b"Subject: Quarterly figures" in data
    assert b"Inner body: revenue is up." in data
    assert "revenue is up" not in message.text_body


def test_unparseable_addresses_keep_what_can_be_kept(alice):
    raw = fixture_bytes("bad_addresses.eml")
    result = ingest_message(raw=raw, recipients=["alice@facteur.test"])
    message = Message.objects.get(pk=result.recipients[0].message_id)
    assert (message.sender_name, message.sender_email) == ("no address here", "")
    assert message.reply_to == "replies@sender.example"
    cc = list(message.recipients.filter(kind="cc").values_list("name", "email"))
    assert cc == [
        ("Team", "team@sender.example"),
        ("", "plain@sender.example"),
        ("Doe, John", "john.doe@sender.example"),
    ]
    assert not message.recipients.filter(kind="to").exists()  # undisclosed-recipients:;
