"""A draft's structured fields -> the RFC 5322 message that leaves Facteur.

Only what the recipients should see: From, To, Cc (never Bcc), Subject, Date,
Message-ID, In-Reply-To/References for replies, the bodies and the attachments.
No Received or internal headers. Given the draft, its attachments' bytes and
``date``, the output is byte-for-byte the same (the MIME boundaries are derived
from the Message-ID), so a retried send signs and sends the same message.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime
from html.parser import HTMLParser

from django.utils import timezone

from facteur.blobs.services import blob_read
from facteur.mail.models import Attachment, Message, RecipientKind

# CRLF line endings, lines folded at 78; bodies that are not ASCII go out as
# quoted-printable or base64 (never 8bit) so that no relay re-encodes them and
# breaks the DKIM body hash.
POLICY = policy.SMTP.clone(cte_type="7bit")


def _split_address(email: str) -> tuple[str, str]:
    local, _, domain = email.rpartition("@")
    return local, domain


def _address(name: str, email: str) -> Address:
    local, domain = _split_address(email)
    return Address(display_name=name or "", username=local, domain=domain)


def _angle(mime_id: str) -> str:
    return f"<{mime_id.strip().strip('<>')}>"


class _TextExtractor(HTMLParser):
    _BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
         "table", "ul", "ol", "hr"}
    )  # fmt: skip
    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS and tag != "li":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def text_from_html(markup: str) -> str:
    """A readable plain-text version of an HTML body (for the text/plain alternative)."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.parts))
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _attach(part: MIMEPart, att: Attachment, *, inline: bool) -> None:
    maintype, _, subtype = (att.content_type or "application/octet-stream").partition("/")
    data = blob_read(blob=att.blob)
    kwargs: dict[str, str] = {"filename": att.filename or "attachment"}
    if inline:
        kwargs.update(cid=_angle(att.content_id), disposition="inline")
        part.add_related(data, maintype or "application", subtype or "octet-stream", **kwargs)
    else:
        part.add_attachment(data, maintype or "application", subtype or "octet-stream", **kwargs)


def _finish_parts(msg: EmailMessage, seed: str) -> None:
    for i, part in enumerate(msg.walk()):
        if part is not msg:
            del part["MIME-Version"]  # the stdlib repeats it in parts it nests
        # Random boundaries would make the same draft compose to different bytes.
        if part.is_multipart():
            digest = hashlib.sha256(f"{seed}/{i}".encode()).hexdigest()[:32]
            part.set_boundary(f"=_facteur_{digest}")


def compose_message(*, draft: Message, date: datetime | None = None) -> bytes:
    """The MIME bytes of ``draft`` (CRLF line endings), ready to be DKIM-signed."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = _address(draft.sender_name, draft.sender_email)
    recipients = list(draft.recipients.order_by("kind", "position"))
    for kind, header in ((RecipientKind.TO, "To"), (RecipientKind.CC, "Cc")):
        people = [_address(r.name, r.email) for r in recipients if r.kind == kind]
        if people:
            msg[header] = people
    if draft.subject:
        msg["Subject"] = draft.subject
    msg["Date"] = format_datetime((date or timezone.now()).astimezone(UTC))
    msg["Message-ID"] = _angle(draft.mime_id)
    references = [r for r in draft.references if r]
    if draft.in_reply_to:
        msg["In-Reply-To"] = _angle(draft.in_reply_to)
        if not references or references[-1] != draft.in_reply_to:
            references.append(draft.in_reply_to)
    if references:
        msg["References"] = " ".join(_angle(r) for r in references)

    attachments = list(draft.attachments.select_related("blob").order_by("position"))
    html_body = draft.html_body
    inline = [
        a for a in attachments if html_body and a.content_id and f"cid:{a.content_id}" in html_body
    ]
    text_body = draft.text_body or (text_from_html(html_body) if html_body else "")
    msg.set_content(text_body)
    if html_body:
        msg.add_alternative(html_body, subtype="html")
        html_part = msg.get_payload()[-1]
        for att in inline:
            _attach(html_part, att, inline=True)
    for att in attachments:
        if att not in inline:
            _attach(msg, att, inline=False)
    _finish_parts(msg, draft.mime_id)
    return msg.as_bytes(policy=POLICY)
