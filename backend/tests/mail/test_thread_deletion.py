"""A conversation whose last message is deleted goes, with its labels and shares."""

from __future__ import annotations

import pytest
from django.db import connection

from facteur.mail.models import Label, Thread, ThreadAccess, ThreadLabel
from facteur.mail.services.flags import messages_delete
from tests import factories

pytestmark = pytest.mark.django_db


def test_deleting_the_last_message_of_a_labelled_shared_thread_leaves_no_dangling_rows():
    dom = factories.domain()
    box, other = factories.mailbox(dom), factories.mailbox(dom)
    msg = factories.message_create(box)
    thread = msg.thread
    Label.objects.create(mailbox=box, name="Billing").threads.add(thread)
    ThreadAccess.objects.create(thread=thread, mailbox=other, role="viewer")

    messages_delete(message_ids=[msg.id])

    assert not Thread.objects.filter(id=thread.id).exists()
    assert not ThreadLabel.objects.filter(thread_id=thread.id).exists()
    assert not ThreadAccess.objects.filter(thread_id=thread.id).exists()
    connection.check_constraints()  # what COMMIT would check (deferred foreign keys)
