"""Messages of concurrent sessions are stored together; each reply is still its own.

The only worker is held (a mailbox row locked by the test, which the first delivery
needs), the next sessions' messages wait for it, and go together once it is free.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from django.db import connection, transaction

from facteur.delivery import replies
from facteur.domains.models import Mailbox
from facteur.ingest.recipients import destination_for
from facteur.mail.models import Message
from tests.delivery.conftest import lmtp_client, lmtp_send, make_mail
from tests.refusals import messages_refused


def deliver(port: int, recipient: str, raw: bytes) -> list[str]:
    with lmtp_client(port) as client:
        return lmtp_send(client, [recipient], raw)[1]


def eventually(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def a_delivery_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # a transaction keeps its first
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def send_while_held(server, mailboxes, subjects: list[str]) -> tuple[list[str], list[list[str]]]:
    """Bob's message holds the only worker; then one message to Alice per subject."""
    for address in ("alice@facteur.test", "bob@facteur.test"):
        destination_for(address)  # RCPT answers from memory: the worker is busy
    handler = server.server.handler
    port = server.lmtp_port
    with ThreadPoolExecutor(len(subjects) + 1) as pool:
        with transaction.atomic():
            Mailbox.objects.select_for_update().get(pk=mailboxes.bob.pk)
            first = pool.submit(deliver, port, "bob@facteur.test", make_mail(to="bob@facteur.test"))
            eventually(a_delivery_waits_on_a_lock)
            others = [
                pool.submit(deliver, port, "alice@facteur.test", make_mail(subject=subject))
                for subject in subjects
            ]
            eventually(lambda: handler.waiting == len(subjects))
        return first.result(30), [future.result(30) for future in others]


def transactions(subjects: list[str]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT xmin::text) FROM mail_message WHERE subject = ANY(%s)",
            [subjects],
        )
        return cursor.fetchone()[0]


def test_waiting_messages_are_committed_together(serve, mailboxes):
    server = serve(workers=1)
    subjects = ["One", "Two", "Three"]

    first, others = send_while_held(server, mailboxes, subjects)

    assert first == [replies.DELIVERED]
    assert others == [[replies.DELIVERED]] * 3
    assert Message.objects.filter(mailbox=mailboxes.alice).count() == 3
    assert transactions(subjects) == 1


def test_a_failing_message_gets_451_and_the_others_250(serve, mailboxes):
    server = serve(workers=1)
    subjects = ["One", "Refused", "Three"]

    with messages_refused("Refused"):
        first, others = send_while_held(server, mailboxes, subjects)

    assert first == [replies.DELIVERED]
    assert others == [[replies.DELIVERED], [replies.TEMPORARY_FAILURE], [replies.DELIVERED]]
    # Stored one by one after the batch failed: nothing of the refused one, the others once.
    stored = Message.objects.filter(mailbox=mailboxes.alice)
    assert sorted(stored.values_list("subject", flat=True)) == ["One", "Three"]
    assert transactions(subjects) == 2


def test_a_free_worker_skips_messages_for_a_mailbox_being_written(serve, mailboxes):
    """Bob's mailbox is being written (and held): his next message waits for that batch,
    Alice's goes to the other worker at once instead of queueing behind Bob's lock."""
    server = serve(workers=2)
    for address in ("alice@facteur.test", "bob@facteur.test"):
        destination_for(address)
    handler, port = server.server.handler, server.lmtp_port
    to_bob = make_mail(to="bob@facteur.test", subject="Bob")
    with ThreadPoolExecutor(3) as pool:
        with transaction.atomic():
            Mailbox.objects.select_for_update().get(pk=mailboxes.bob.pk)
            first = pool.submit(deliver, port, "bob@facteur.test", to_bob)
            eventually(a_delivery_waits_on_a_lock)
            second = pool.submit(
                deliver, port, "bob@facteur.test", make_mail(to="bob@facteur.test")
            )
            eventually(lambda: handler.waiting == 1)
            to_alice = pool.submit(deliver, port, "alice@facteur.test", make_mail(subject="A"))
            assert to_alice.result(10) == [replies.DELIVERED]  # while Bob's row is held
            assert handler.waiting == 1  # Bob's second message still waits its turn
        assert first.result(30) == second.result(30) == [replies.DELIVERED]

    assert Message.objects.filter(mailbox=mailboxes.bob).count() == 2
