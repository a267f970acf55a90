"""A reply draft with everything compose has to handle, built through the real services."""

from __future__ import annotations

import pytest

from facteur.blobs.models import Upload
from facteur.blobs.services import blob_put
from facteur.domains import services as domain_services
from facteur.mail.models import Message
from facteur.mail.services.drafts import DraftFields, draft_create
from tests import factories
from tests.sending.mx_hosts import farm, zone  # noqa: F401  (fixtures for direct delivery)

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40  # binary, compressible: stored zstd
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x01\x02\xff" * 100
LOGO_CID = "logo-1@example.test"


@pytest.fixture
def reply_draft(db) -> Message:
    dom = factories.domain("example.test")
    box = domain_services.mailbox_create(
        domain=dom, local_part="chloe", display_name="Chloé Dupré (Équipe)"
    )
    original = factories.message_create(box, subject="Réunion de lundi")
    Message.objects.filter(pk=original.pk).update(references=["first@elsewhere.test"])
    original.refresh_from_db()
    uploads = [
        Upload.objects.create(
            blob=blob_put(data=data), mailbox=box, filename=name, content_type=ctype
        )
        for data, name, ctype in (
            (PDF, "compte-rendu été.pdf", "application/pdf"),
            (PNG, "logo.png", "image/png"),
        )
    ]
    draft = draft_create(
        mailbox=box,
        reply_to=original,
        fields=DraftFields(
            html_body=f'<p>Bonjour <b>Alice</b>,</p><p>Voilà.</p><img src="cid:{LOGO_CID}">',
            to=[{"name": "Alice Martin", "email": "alice@elsewhere.test"}],
            cc=[{"name": "Bob", "email": "bob@elsewhere.test"}],
            bcc=[{"name": "Secret", "email": "hidden@elsewhere.test"}],
            attachment_blob_ids=[str(u.blob_id) for u in uploads],
        ),
    )
    # The webmail marks pasted images inline; drafts keep that on the attachment.
    draft.attachments.filter(filename="logo.png").update(content_id=LOGO_CID, is_inline=True)
    return draft
