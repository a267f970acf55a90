"""The handler on its own, without sockets: its hooks called as aiosmtpd calls them."""

from __future__ import annotations

import asyncio
import time

from aiosmtpd.smtp import Envelope, Session
from django.db import connection

from facteur.delivery import replies
from facteur.delivery.handler import DeliveryHandler
from facteur.delivery.server import DeliveryLMTP, DeliverySMTP, InFlight
from facteur.mail.models import Message
from tests.delivery.conftest import make_mail


def _transaction(face: type, recipients: list[str], raw: bytes, **options: int):
    """(RCPT replies, DATA reply) of one envelope through a fresh handler."""

    async def run() -> tuple[list[str], str]:
        loop = asyncio.get_running_loop()
        handler = DeliveryHandler(**{"max_recipients": 10, **options})
        protocol = face(handler, in_flight=InFlight(), hostname="delivery.test", loop=loop)
        session, envelope = Session(loop), Envelope()
        session.peer = ("127.0.0.1", 12345)
        try:
            at_rcpt = [
                await handler.handle_RCPT(protocol, session, envelope, address, [])
                for address in recipients
            ]
            envelope.original_content = raw
            return at_rcpt, await handler.handle_DATA(protocol, session, envelope)
        finally:
            await asyncio.to_thread(handler.close)

    return asyncio.run(run())


def test_lmtp_data_reply_has_one_line_per_accepted_recipient(mailboxes):
    at_rcpt, at_data = _transaction(
        DeliveryLMTP, ["alice@facteur.test", "ghost@facteur.test", "bob@facteur.test"], make_mail()
    )

    assert at_rcpt == [replies.RECIPIENT_OK, replies.UNKNOWN_RECIPIENT, replies.RECIPIENT_OK]
    assert at_data == f"{replies.DELIVERED}\r\n{replies.DELIVERED}"
    assert Message.objects.count() == 2


def test_a_disabled_mailbox_or_domain_is_refused_at_rcpt(mailboxes):
    from facteur.domains.models import Mailbox, MailDomain
    from facteur.ingest.recipients import forget_destinations

    Mailbox.objects.filter(pk=mailboxes.alice.pk).update(is_disabled=True)
    forget_destinations()  # another process disabling it: seen within the cache's TTL
    at_rcpt, at_data = _transaction(
        DeliveryLMTP, ["alice@facteur.test", "a.liddell@facteur.test", "bob@facteur.test"],
        make_mail(),
    )  # fmt: skip
    assert at_rcpt == [replies.MAILBOX_DISABLED, replies.MAILBOX_DISABLED, replies.RECIPIENT_OK]
    assert replies.MAILBOX_DISABLED.startswith("550 5.2.1 ")
    assert at_data == replies.DELIVERED
    assert list(Message.objects.values_list("mailbox_id", flat=True)) == [mailboxes.bob.pk]
    MailDomain.objects.update(is_disabled=True)
    forget_destinations()
    at_rcpt, _ = _transaction(DeliveryLMTP, ["bob@facteur.test"], make_mail())
    assert at_rcpt == [replies.MAILBOX_DISABLED]


def test_smtp_data_reply_is_one_line(mailboxes):
    at_rcpt, at_data = _transaction(
        DeliverySMTP, ["alice@facteur.test", "bob@facteur.test", "a.liddell@facteur.test"],
        make_mail(), max_recipients=2,
    )  # fmt: skip

    assert at_rcpt == [replies.RECIPIENT_OK, replies.RECIPIENT_OK, replies.TOO_MANY_RECIPIENTS]
    assert at_data == replies.DELIVERED


def _other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_close_leaves_no_database_connection_behind(mailboxes):
    # Connections that earlier tests' threads left open are not the handler's.
    before = _other_connections()

    async def busy_then_closed() -> int:
        loop = asyncio.get_running_loop()
        handler = DeliveryHandler(max_recipients=10)
        protocol = DeliverySMTP(handler, in_flight=InFlight(), hostname="t.test", loop=loop)
        # Concurrent lookups: each worker thread opens its own connection.
        checks = [
            handler.handle_RCPT(protocol, Session(loop), Envelope(), "alice@facteur.test", [])
            for _ in range(16)
        ]
        assert set(await asyncio.gather(*checks)) == {replies.RECIPIENT_OK}
        threads = handler._threads
        await asyncio.to_thread(handler.close)
        return threads

    assert asyncio.run(busy_then_closed()) > 1
    # A server process leaves pg_stat_activity a moment after its client hung up.
    deadline = time.monotonic() + 5
    while _other_connections() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _other_connections() <= before
