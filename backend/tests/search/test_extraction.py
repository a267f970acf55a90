"""What of a message is searchable (search.extraction), read the way every backend reads it."""

from __future__ import annotations

from email.message import EmailMessage

from facteur.ingest.services import ingest_message
from facteur.search.extraction import BODY_LIMIT, extracts
from tests.search.conftest import deliver, subjects


def test_the_four_fields(box):
    message = deliver(
        box.address,
        subject="Devis <urgent>",
        body="Voici le devis <signé>.",
        sender="Alice Martin <alice.martin@example.com>",
        cc="Compta <compta@facteur.test>",
        attachment="devis_2025-v2.pdf",
    )
    [found] = extracts([message.pk])
    assert found.message_id == message.pk and found.mailbox_id == box.pk
    assert found.subject == "Devis  urgent "  # angle brackets are spaces
    assert "signé" in found.body and "<" not in found.body
    for part in ("Alice Martin", "alice.martin@example.com", "alice martin example com",
                 "Compta", "compta@facteur.test", "claire@facteur.test"):  # fmt: skip
        assert part in found.participants
    assert found.attachments == "devis_2025-v2.pdf devis 2025 v2 pdf"


def test_html_only_mail_is_searched_by_its_text(owner, box):
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@example.com", box.address, "Newsletter"
    mail.set_content("<p>Nouveautés du <b>printemps</b></p>", subtype="html")
    result = ingest_message(raw=bytes(mail), recipients=[box.address])
    [found] = extracts([result.recipients[0].message_id])
    assert "printemps" in found.body and "<b>" not in found.body
    assert subjects(owner, [box], "printemps") == ["Newsletter"]


def test_the_body_is_bounded(owner, box):
    message = deliver(box.address, subject="Long", body="mot " * BODY_LIMIT + "lointain")
    [found] = extracts([message.pk])
    assert len(found.body) == BODY_LIMIT
    assert subjects(owner, [box], "lointain") == []  # beyond the limit: not indexed
