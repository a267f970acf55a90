"""compose_message: a reply draft -> RFC 5322 bytes, read back with the stdlib parser."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from facteur.domains import services as domain_services
from facteur.mail.services.drafts import DraftFields, draft_create
from facteur.sending.compose import compose_message, text_from_html
from tests import factories
from tests.sending.conftest import LOGO_CID, PDF, PNG

DATE = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)


def content(part: EmailMessage) -> str:
    return part.get_content().replace("\r\n", "\n")  # 7bit parts keep the wire's CRLF


def test_headers_of_a_reply(reply_draft):
    raw = compose_message(draft=reply_draft, date=DATE)
    msg = parse(raw)
    head = raw.split(b"\r\n\r\n", 1)[0]

    assert msg["From"] == '"Chloé Dupré (Équipe)" <chloe@example.test>'
    assert b"=?utf-8?" in head and "Chloé".encode() not in head  # RFC 2047, ASCII only
    assert head.isascii()
    assert msg["To"] == "Alice Martin <alice@elsewhere.test>"
    assert msg["Cc"] == "Bob <bob@elsewhere.test>"
    assert msg["Bcc"] is None and b"hidden@elsewhere.test" not in raw
    assert msg["Subject"] == "Re: Réunion de lundi"
    assert msg["Date"] == "Tue, 24 Nov 2026 09:30:00 +0000"
    assert msg["Message-ID"] == f"<{reply_draft.mime_id}>"
    assert reply_draft.mime_id.endswith("@example.test")
    original_id = reply_draft.in_reply_to
    assert msg["In-Reply-To"] == f"<{original_id}>"
    assert msg["References"].split() == ["<first@elsewhere.test>", f"<{original_id}>"]
    assert msg["MIME-Version"] == "1.0"
    assert msg["Received"] is None and not [k for k in msg if k.lower().startswith("x-")]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only


def test_parts_alternative_related_and_attachments(reply_draft):
    raw = compose_message(draft=reply_draft, date=DATE)
    msg = parse(raw)

    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = msg.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    text, related = alternative.get_payload()
    assert text.get_content_type() == "text/plain"
    assert "Bonjour Alice," in text.get_content() and "Voilà." in text.get_content()
    assert related.get_content_type() == "multipart/related"
    html, logo = related.get_payload()
    assert html.get_content_type() == "text/html" and f"cid:{LOGO_CID}" in html.get_content()
    assert logo["Content-ID"] == f"<{LOGO_CID}>"
    assert logo.get_content_disposition() == "inline"
    assert logo.get_content() == PNG

    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "compte-rendu été.pdf"
    assert b"filename*=utf-8''compte-rendu%20%C3%A9t%C3%A9.pdf" in raw  # RFC 2231
    assert raw.count(b"MIME-Version") == 1
    assert attachment.get_content() == PDF  # byte-identical through blob storage


def test_text_only_draft_has_no_html(db):
    box = factories.mailbox(factories.domain("example.test"), "ann")
    draft = draft_create(
        mailbox=box,
        fields=DraftFields(
            subject="Plain", text_body="Hello,\nsee you.\n", to=[{"email": "x@elsewhere.test"}]
        ),
    )
    msg = parse(compose_message(draft=draft, date=DATE))

    assert msg.get_content_type() == "text/plain"
    assert content(msg) == "Hello,\nsee you.\n"
    assert msg["From"] == "ann@example.test"
    assert msg["In-Reply-To"] is None and msg["References"] is None and msg["Cc"] is None


def test_html_only_draft_gets_a_text_alternative(db):
    box = domain_services.mailbox_create(
        domain=factories.domain("example.test"), local_part="ann", display_name="Ann"
    )
    draft = draft_create(
        mailbox=box,
        fields=DraftFields(
            html_body="<ul><li>one &amp; two</li><li>three</li></ul><script>x()</script>",
            to=[{"email": "x@elsewhere.test"}],
        ),
    )
    msg = parse(compose_message(draft=draft, date=DATE))

    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.get_payload()
    assert content(text) == "- one & two\n- three\n"
    assert html.get_content_type() == "text/html"


def test_deterministic_given_the_draft_and_date(reply_draft):
    assert compose_message(draft=reply_draft, date=DATE) == compose_message(
        draft=reply_draft, date=DATE
    )


def test_text_from_html():
    assert text_from_html("<p>a<br>b</p><p>c&eacute;</p>") == "a\nb\n\ncé\n"
