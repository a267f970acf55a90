"""The delivery service over real loopback connections: what each face answers, and
what ends up stored."""

from __future__ import annotations

import smtplib

import pytest

from facteur.blobs.services import blob_read
from facteur.delivery import replies
from facteur.mail.models import Message
from tests.delivery.conftest import (
    lmtp_client,
    lmtp_send,
    make_mail,
    reply,
    send_raw_data,
    smtp_client,
)


def test_smtp_delivery_is_stored(server, mailboxes):
    raw = make_mail(subject="Over SMTP")
    with smtp_client(server.smtp_port) as client:
        refused = client.sendmail("carol@elsewhere.test", ["alice@facteur.test"], raw)

    assert refused == {}
    message = Message.objects.get(mailbox=mailboxes.alice)
    assert message.subject == "Over SMTP"
    assert message.size == len(raw)


def test_smtp_refuses_unknown_recipients_at_rcpt(server, mailboxes):
    with smtp_client(server.smtp_port) as client:
        client.mail("carol@elsewhere.test")
        assert reply(client.rcpt("nobody@facteur.test")) == replies.UNKNOWN_RECIPIENT
        assert reply(client.rcpt("nobody@unknown-domain.test")) == replies.UNKNOWN_RECIPIENT
        assert reply(client.rcpt("a.liddell@facteur.test")) == replies.RECIPIENT_OK
        assert reply(client.data(make_mail())) == replies.DELIVERED

    assert Message.objects.filter(mailbox=mailboxes.alice).count() == 1


def test_lmtp_answers_each_recipient_and_retries_store_nothing_twice(server, mailboxes):
    raw = make_mail(subject="Per recipient")
    with lmtp_client(server.lmtp_port) as client:
        first = lmtp_send(client, ["alice@facteur.test"], raw)
        # Postfix retries a delivery: alice already has it, bob does not, one is unknown.
        retry = lmtp_send(
            client, ["alice@facteur.test", "nobody@facteur.test", "bob@facteur.test"], raw
        )

    assert first == ([replies.RECIPIENT_OK], [replies.DELIVERED])
    assert retry == (
        [replies.RECIPIENT_OK, replies.UNKNOWN_RECIPIENT, replies.RECIPIENT_OK],
        [replies.DELIVERED, replies.DELIVERED],
    )
    assert Message.objects.filter(mailbox=mailboxes.alice).count() == 1
    assert Message.objects.filter(mailbox=mailboxes.bob).count() == 1


def test_lmtp_speaks_lmtp_only(server, mailboxes):
    with smtplib.SMTP("127.0.0.1", server.lmtp_port, timeout=10) as client:
        assert client.ehlo()[0] == 500
        assert client.helo()[0] == 500


def test_size_limit(serve, mailboxes):
    server = serve(data_size_limit=2048)
    big = make_mail(body="x" * 70 + ("\r\n" + "x" * 70) * 40)
    with smtp_client(server.smtp_port) as client:
        # smtplib announces the size in MAIL FROM (SIZE=): refused before any data.
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("carol@elsewhere.test", ["alice@facteur.test"], big)
        assert f"{refused.value.smtp_code} {refused.value.smtp_error.decode()}" == (
            replies.MESSAGE_TOO_BIG
        )
        client.rset()
        # A client that does not announce it is cut off at the end of DATA.
        client.docmd("MAIL FROM:<carol@elsewhere.test>")
        client.rcpt("alice@facteur.test")
        assert reply(client.data(big)) == replies.MESSAGE_TOO_BIG
        assert client.docmd("DATA")[0] == 503  # that transaction is over
        assert client.sendmail("carol@elsewhere.test", ["alice@facteur.test"], make_mail()) == {}
    with lmtp_client(server.lmtp_port) as client:
        assert lmtp_send(client, ["alice@facteur.test", "bob@facteur.test"], big)[1] == [
            replies.MESSAGE_TOO_BIG,
            replies.MESSAGE_TOO_BIG,
        ]

    assert Message.objects.filter(mailbox=mailboxes.alice).count() == 1
    assert not Message.objects.filter(mailbox=mailboxes.bob).exists()


def test_recipient_limit(serve, mailboxes):
    server = serve(max_recipients=2)
    with smtp_client(server.smtp_port) as client:
        client.mail("carol@elsewhere.test")
        assert reply(client.rcpt("alice@facteur.test")) == replies.RECIPIENT_OK
        assert reply(client.rcpt("bob@facteur.test")) == replies.RECIPIENT_OK
        assert reply(client.rcpt("a.liddell@facteur.test")) == replies.TOO_MANY_RECIPIENTS
        assert reply(client.data(make_mail())) == replies.DELIVERED

    assert Message.objects.filter(mailbox__in=[mailboxes.alice, mailboxes.bob]).count() == 2


def test_overlong_lines_are_refused_for_each_lmtp_recipient(server, mailboxes):
    raw = make_mail(body="x" * 2000)
    with lmtp_client(server.lmtp_port) as client:
        assert lmtp_send(client, ["alice@facteur.test", "bob@facteur.test"], raw)[1] == [
            replies.LINE_TOO_LONG,
            replies.LINE_TOO_LONG,
        ]
        # The session goes on.
        assert lmtp_send(client, ["bob@facteur.test"], make_mail())[1] == [replies.DELIVERED]


@pytest.mark.parametrize("port", ["smtp_port", "lmtp_port"])
def test_malformed_commands_get_5xx_and_the_server_goes_on(server, mailboxes, port):
    with smtplib.SMTP("127.0.0.1", getattr(server, port), timeout=10) as client:
        assert client.docmd("XYZZY", "plugh")[0] == 500
        assert client.docmd("LHLO" if port == "lmtp_port" else "EHLO", "client.test")[0] == 250
        assert client.docmd("RCPT TO:<alice@facteur.test>")[0] == 503  # no MAIL FROM yet
        assert client.docmd("DATA")[0] == 503  # no recipient yet
        assert client.docmd("MAIL", "carol@elsewhere.test")[0] == 501  # no FROM:
        assert client.docmd("MAIL FROM:<carol@elsewhere.test>")[0] == 250
        assert client.docmd("RCPT TO:<alice@@facteur..test")[0] in (501, 553)
        assert client.docmd("RCPT TO:<alice@facteur.test> NOTIFY=NEVER")[0] >= 500
        assert client.docmd("NOOP")[0] == 250
    with smtp_client(server.smtp_port) as client:
        assert client.sendmail("carol@elsewhere.test", ["alice@facteur.test"], make_mail()) == {}

    assert Message.objects.filter(mailbox=mailboxes.alice).count() == 1


@pytest.mark.parametrize(
    ("name", "raw", "malformed"),
    [
        ("nul bytes", make_mail(body="before\x00after"), False),
        ("bare LF", make_mail().replace(b"\r\n", b"\n"), False),
        ("no headers", b"just some text\r\nand no header at all", True),
    ],
)
def test_odd_messages_are_stored(server, mailboxes, name, raw, malformed):
    with smtp_client(server.smtp_port) as client:
        client.mail("carol@elsewhere.test")
        client.rcpt("alice@facteur.test")
        assert send_raw_data(client, raw) == replies.DELIVERED

    message = Message.objects.get(mailbox=mailboxes.alice)
    assert message.is_malformed is malformed
    received = raw if raw.endswith(b"\r\n") else raw + b"\r\n"
    assert blob_read(blob=message.raw_blob) == received  # bare LF and NUL included
    if name == "nul bytes":
        assert "\x00" not in message.text_body
        assert message.parse_errors
