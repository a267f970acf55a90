"""The PostgreSQL backend on mail stored by the real ingest and draft services.

Every operator of the language finds what it names and nothing else; a thread
comes once however many of its messages match; stemming and accents; drafts and
flags; the index is written in the delivering transaction.
"""

from __future__ import annotations

import pytest
from django.db import connection

from facteur.domains.services import access_grant, mailbox_create
from facteur.mail.models import Label, Message
from facteur.mail.services.drafts import DraftFields, draft_create, draft_update
from facteur.mail.services.flags import messages_set_flag
from facteur.mail.services.labels import label_add_threads
from facteur.search.backends import postgres
from facteur.search.backends.base import Scope
from facteur.search.models import MessageDocument
from facteur.search.query import parse
from facteur.search.services import search_index_messages
from tests.search.conftest import deliver, subjects


@pytest.fixture
def mail(box):
    """Five threads in Claire's mailbox, one per row, each with something to find."""
    a = box.address
    deliver(a, subject="Budget 2025", body="Les réunions du comité budgétaire auront lieu lundi.",
            mime_id="budget@example.com")  # fmt: skip
    deliver(a, subject="Re: Budget 2025", body="Merci, the meetings are confirmed.",
            sender="Bob Durand <bob@durand.example>", in_reply_to="budget@example.com")  # fmt: skip
    deliver(a, subject="Invoice", body="Please find the invoice attached.",
            sender="Hélène Lefèvre <helene@fournisseur.example>", attachment="facture-mars.pdf",
            cc="Compta <compta@facteur.test>")  # fmt: skip
    deliver(a, subject="Vacances", body="Photos of the holiday in Brittany.",
            sender="Claire <claire@facteur.test>", cc="Paul <paul@famille.example>")  # fmt: skip
    deliver(a, subject="Newsletter", body="Weekly news: nothing about money.",
            sender="News <news@letters.example>")  # fmt: skip


CASES = [
    ("budget", ["Budget 2025"]),
    ("BUDGET", ["Budget 2025"]),
    ("réunion", ["Budget 2025"]),  # French stemming: réunions
    ("reunions", ["Budget 2025"]),  # no accent in the query
    ("meeting", ["Budget 2025"]),  # English stemming: meetings
    ("helene", ["Invoice"]),  # no accent, name in From
    ('"invoice attached"', ["Invoice"]),
    ('"attached invoice"', []),  # a phrase keeps its order
    ('"invoice attached" OR vacances', ["Invoice", "Vacances"]),
    ('"attached invoice" OR budget', ["Budget 2025"]),
    ('"invoice attached" -helene', []),
    ('"invoice attached" has:attachment', ["Invoice"]),
    ('subject:"budget 2025"', ["Budget 2025"]),
    ('subject:"comité budgétaire"', []),  # in the body, not the subject
    ('"comité budgétaire"', ["Budget 2025"]),
    ("filename:facture invoice", ["Invoice"]),  # words, then a condition on the document
    ("invoice after:2000-01-01 in:inbox larger:1", ["Invoice"]),  # and on the message
    ("invoice before:2000-01-01", []),
    ("subject:invoice OR photos", ["Invoice", "Vacances"]),
    ("newsletter OR from:bob", ["Budget 2025", "Newsletter"]),  # no words in one branch
    ("invoice -attached", []),
    ("-budget -invoice -vacances", ["Newsletter"]),
    ("budget OR vacances", ["Budget 2025", "Vacances"]),
    ("(budget OR vacances) photos", ["Vacances"]),
    ("from:bob", ["Budget 2025"]),
    ("de:durand.example", ["Budget 2025"]),
    ("from:alice.martin@example.com", ["Budget 2025"]),
    ('from:"Hélène Lefèvre"', ["Invoice"]),
    ("from:compta", []),  # compta is in Cc, not From
    ("to:compta", ["Invoice"]),  # to: covers cc
    ("cc:compta", ["Invoice"]),
    ("bcc:compta", []),
    ("cc:paul", ["Vacances"]),
    ("from:me", ["Vacances"]),
    ("from:moi", ["Vacances"]),
    ("subject:budget", ["Budget 2025"]),
    ("sujet:comité", []),  # in the body, not the subject
    ("comité", ["Budget 2025"]),
    ("filename:facture", ["Invoice"]),
    ("fichier:pdf", ["Invoice"]),
    ("has:attachment", ["Invoice"]),
    ("-has:attachment budget", ["Budget 2025"]),
    ("in:sent", ["Vacances"]),
    ("dans:envoyés", ["Vacances"]),
    ("in:inbox money", ["Newsletter"]),
    ("in:drafts", []),
    ("is:starred", []),
    ("larger:100k", []),
    ("smaller:100k news", ["Newsletter"]),
    ("after:2000-01-01 newsletter", ["Newsletter"]),
    ("before:2000-01-01", []),
    ("newer_than:1d newsletter", ["Newsletter"]),
    ("older_than:1d", []),
    ("nothing-like-this", []),
    ("unknown:operator", []),
    ("", ["Newsletter", "Vacances", "Invoice", "Budget 2025"]),  # newest first
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_operators(owner, box, mail, text, expected):
    found = subjects(owner, [box], text)
    assert sorted(found) == sorted(expected)
    if text == "":
        assert found == expected


def test_a_thread_comes_once_however_many_messages_match(owner, box, mail):
    # Both messages of the budget thread say "budget"; the thread comes once.
    assert Message.objects.filter(thread__subject="Budget 2025").count() == 2
    assert subjects(owner, [box], "budget 2025") == ["Budget 2025"]


def test_a_phrase_is_found_past_newer_mail_with_its_words_in_another_order(owner, box):
    # The phrase is checked newest first on the messages holding its words: the newer
    # ones, in the wrong order, are passed over, not taken for matches nor a stop.
    for i in range(2):
        deliver(box.address, subject=f"Right {i}", body="The quarterly report is late.")
    for i in range(8):
        deliver(box.address, subject=f"Wrong {i}", body="A report, quarterly or not.")
    assert sorted(subjects(owner, [box], '"quarterly report"')) == ["Right 0", "Right 1"]
    assert len(subjects(owner, [box], "quarterly report")) == 10


def test_a_message_is_searchable_once_ingest_commits(owner, box):
    message = deliver(box.address, subject="Fresh", body="Searchable immediately")
    assert MessageDocument.objects.filter(message=message).exists()
    assert subjects(owner, [box], "immediately") == ["Fresh"]


def test_highlights_mark_the_matching_words(owner, box, mail):
    from facteur.search.selectors import threads_search

    hit = threads_search(user_id=owner.pk, mailbox_ids=[str(box.pk)], text="comité").hits[0]
    assert any(seg.match and seg.text.lower() == "comité" for seg in hit.snippet)
    assert "".join(seg.text for seg in hit.subject) == "Budget 2025"


def test_highlights_are_plain_text(owner, box):
    body = "Tom wrote: if a & b then <payload>"
    deliver(box.address, subject="Tom & Jerry <3", body=body)
    from facteur.search.selectors import threads_search

    hit = threads_search(user_id=owner.pk, mailbox_ids=[str(box.pk)], text="payload").hits[0]
    # Not HTML: an excerpt of the text, nothing escaped or added; the client shows it as text.
    assert "".join(seg.text for seg in hit.snippet) in body
    assert [seg.text for seg in hit.snippet if seg.match] == ["payload"]
    assert "".join(seg.text for seg in hit.subject) == "Tom & Jerry <3"


def test_flags_change_without_reindexing(owner, box, mail):
    message = Message.objects.get(subject="Newsletter")
    messages_set_flag(user_id=owner.pk, message_ids=[message.pk], flag="trashed", value=True)
    assert subjects(owner, [box], "newsletter") == []
    assert subjects(owner, [box], "newsletter in:trash") == ["Newsletter"]
    assert subjects(owner, [box], "newsletter in:anywhere") == ["Newsletter"]
    messages_set_flag(user_id=owner.pk, message_ids=[message.pk], flag="starred", value=True)
    assert subjects(owner, [box], "is:starred in:anywhere") == ["Newsletter"]


def test_read_state_is_the_searching_user(owner, box, mail):
    assert "Newsletter" in subjects(owner, [box], "is:unread")
    message = Message.objects.get(subject="Newsletter")
    messages_set_flag(user_id=owner.pk, message_ids=[message.pk], flag="unread", value=False)
    assert "Newsletter" not in subjects(owner, [box], "is:unread")
    # What the mailbox sent itself is never unread.
    assert sorted(subjects(owner, [box], "est:lu")) == ["Newsletter", "Vacances"]


def test_labels_by_name_and_sub_labels(owner, box, mail):
    clients = Label.objects.create(mailbox=box, name="Clients/ACME")
    label_add_threads(label=clients, thread_ids=[Message.objects.get(subject="Invoice").thread_id])
    assert subjects(owner, [box], "label:clients") == ["Invoice"]
    assert subjects(owner, [box], "label:Clients/ACME") == ["Invoice"]
    assert subjects(owner, [box], "libellé:clients/acme") == ["Invoice"]
    assert subjects(owner, [box], "label:acme") == []


def test_drafts_are_searchable_and_follow_their_edits(owner, box):
    draft = draft_create(
        mailbox=box,
        fields=DraftFields(
            subject="Proposal",
            text_body="first version of the quotation",
            to=[{"name": "Zoé", "email": "zoe@client.example"}],
        ),
    )
    assert subjects(owner, [box], "quotation in:drafts") == ["Proposal"]
    assert subjects(owner, [box], "to:zoe") == ["Proposal"]
    draft_update(draft=draft, fields=DraftFields(text_body="second version: an estimate"))
    assert subjects(owner, [box], "quotation") == []
    assert subjects(owner, [box], "estimate") == ["Proposal"]


def test_deleting_a_message_deletes_its_document(owner, box, mail):
    message = Message.objects.get(subject="Newsletter")
    message.delete()
    assert not MessageDocument.objects.filter(message_id=message.pk).exists()


def test_the_index_has_the_four_weights(box, mail):
    message = Message.objects.get(subject="Invoice")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT document @@ 'invoice:A'::tsquery, document @@ 'helene:B'::tsquery,"
            " document @@ 'attached:C'::tsquery, document @@ 'mars:D'::tsquery,"
            " document @@ 'mars:A'::tsquery"
            " FROM search_messagedocument WHERE message_id = %s",
            [message.pk],
        )
        assert cursor.fetchone() == (True, True, True, True, False)


@pytest.fixture
def second(owner, box):
    mailbox = mailbox_create(domain=box.domain, local_part="paul", display_name="Paul")
    access_grant(mailbox=mailbox, user=owner, role="admin")
    return mailbox


@pytest.mark.parametrize("walk_up_to", [postgres.NEWEST_FIRST_MAX_MAILBOXES, 1])
def test_queries_without_words_find_the_newest_matches_across_mailboxes(
    owner, box, second, monkeypatch, walk_up_to
):
    """Read newest first (up to walk_up_to mailboxes) or through the GIN index beyond:
    the same threads, newest first, the folder conditions applied before the cut."""
    monkeypatch.setattr(postgres, "NEWEST_FIRST_MAX_MAILBOXES", walk_up_to)
    deliver(box.address, subject="A1", attachment="a1.pdf")
    deliver(second.address, subject="B1", attachment="b1.pdf")
    deliver(box.address, subject="A2")
    deliver(second.address, subject="B2", attachment="b2.pdf")
    trashed = deliver(box.address, subject="A3", attachment="a3.pdf")
    messages_set_flag(user_id=owner.pk, message_ids=[trashed.pk], flag="trashed", value=True)

    assert subjects(owner, [box, second], "has:attachment") == ["B2", "B1", "A1"]
    assert subjects(owner, [box, second], "has:attachment in:trash") == ["A3"]
    assert subjects(owner, [box], "-has:attachment") == ["A2"]
    monkeypatch.setattr(postgres, "CANDIDATES", 2)  # the newest two matches, trash aside
    assert subjects(owner, [box, second], "has:attachment") == ["B2", "B1"]


@pytest.mark.parametrize(
    ("text", "newest_first"),
    [
        ("has:attachment", True),
        ("after:2025-01-01 before:2025-02-01", True),
        ("in:sent is:unread", True),
        ("from:me", True),
        ("", True),
        ("budget has:attachment", False),  # the words' GIN index finds few
        ("-budget", False),
        ("from:bob", False),
        ("filename:pdf", False),
        ("label:clients", False),  # few threads: the planner starts from the labels
    ],
)
def test_which_queries_read_the_scope_newest_first(owner, box, text, newest_first):
    compiler = postgres._Compiler(Scope(user_id=owner.pk, mailbox_ids=[str(box.pk)]))
    compiler.statement(parse(text), offset=0, limit=10)
    assert compiler.newest is newest_first


def test_the_document_copies_the_attachment_flag(box, mail):
    copied = dict(MessageDocument.objects.values_list("message_id", "has_attachments"))
    assert copied == dict(Message.objects.values_list("id", "has_attachments"))
    assert sum(copied.values()) == 1
    invoice = Message.objects.get(subject="Invoice")
    Message.objects.filter(pk=invoice.pk).update(has_attachments=False)
    search_index_messages(message_ids=[invoice.pk])
    assert not MessageDocument.objects.get(message_id=invoice.pk).has_attachments


def test_a_search_runs_with_its_planner_settings_and_without_jit(owner, box, mail, monkeypatch):
    # JIT compiling took 15-25 ms of a 25 ms search on PostgreSQL's default configuration.
    seen = {}
    highlights = postgres._highlights

    def observed(cursor, compiler, message_ids):
        cursor.execute(
            "SELECT current_setting('jit'), current_setting('enable_seqscan'),"
            " current_setting('statement_timeout')"
        )
        seen["settings"] = cursor.fetchone()
        return highlights(cursor, compiler, message_ids)

    monkeypatch.setattr(postgres, "_highlights", observed)
    assert subjects(owner, [box], "budget") == ["Budget 2025"]
    assert seen["settings"][:2] == ("off", "off")
    assert seen["settings"][2] not in ("0", "")
