"""The database goes away: every recipient gets 451 (the sender keeps the message),
and the retry once it is back stores exactly one copy.

Honestly down: the test database refuses new connections and the server's open ones
are terminated by PostgreSQL (the test's own connection stays, to undo it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection

from facteur.delivery import replies
from facteur.mail.models import Message
from tests.delivery.conftest import lmtp_client, lmtp_send, make_mail, reply, smtp_client


def _maintenance_connection() -> psycopg.Connection:
    """A connection to the "postgres" database: ours cannot refuse connections to itself."""
    db = connection.settings_dict
    params = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"]}
    params["password"] = db["PASSWORD"]
    return psycopg.connect(
        dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v}
    )


@contextmanager
def database_down() -> Iterator[None]:
    name = connection.settings_dict["NAME"]
    quoted = connection.ops.quote_name(name)
    with connection.cursor() as cursor:  # the test's own connection survives
        own_pid = cursor.connection.info.backend_pid
    with _maintenance_connection() as admin:
        admin.execute(f"ALTER DATABASE {quoted} WITH ALLOW_CONNECTIONS false")
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> %s",
                (name, own_pid),
            )
            yield
        finally:
            admin.execute(f"ALTER DATABASE {quoted} WITH ALLOW_CONNECTIONS true")


def test_database_down_during_data_is_451_for_each_recipient(server, mailboxes):
    raw = make_mail(subject="Kept by the sender")
    recipients = ["alice@facteur.test", "bob@facteur.test"]
    with lmtp_client(server.lmtp_port) as client:
        assert client.mail("carol@elsewhere.test")[0] == 250
        for address in recipients:
            assert reply(client.rcpt(address)) == replies.RECIPIENT_OK
        with database_down():
            answers = [reply(client.data(raw)), reply(client.getreply())]
        assert answers == [replies.TEMPORARY_FAILURE, replies.TEMPORARY_FAILURE]

        # Postfix retries later, on the same connection or another: stored once.
        assert lmtp_send(client, recipients, raw)[1] == [replies.DELIVERED] * 2
        assert lmtp_send(client, recipients, raw)[1] == [replies.DELIVERED] * 2

    assert Message.objects.filter(subject="Kept by the sender").count() == 2


def test_database_down_at_rcpt_is_451(server, mailboxes):
    with smtp_client(server.smtp_port) as client:
        client.mail("carol@elsewhere.test")
        with database_down():
            assert reply(client.rcpt("alice@facteur.test")) == replies.TEMPORARY_FAILURE
        assert reply(client.rcpt("alice@facteur.test")) == replies.RECIPIENT_OK
        assert reply(client.data(make_mail())) == replies.DELIVERED

    assert Message.objects.filter(mailbox=mailboxes.alice).count() == 1
