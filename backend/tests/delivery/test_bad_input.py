"""Bad and outsized input against the delivery service, over real loopback connections.

Beyond test_replies.py (small size limit, overlong lines, malformed commands one at a
time, NUL / bare LF / no headers over SMTP): messages at the real 50 MiB limit, a
thousand recipients in one transaction, 8-bit text without a charset, a long message
with bare LF endings, connections dropped inside DATA or before the reply, and
malformed commands sent in one burst. After each case nothing is half-stored.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import uuid

import pytest
from django.conf import settings

from facteur.blobs.services import blob_read
from facteur.delivery import replies
from facteur.domains.models import Mailbox
from facteur.mail.models import Attachment, Message
from tests.delivery.conftest import (
    HOST,
    lmtp_client,
    lmtp_send,
    make_mail,
    reply,
    send_raw_data,
    smtp_client,
)
from tests.stored import assert_nothing_half_stored

MIB = 1024 * 1024


def big_mail(size: int, subject: str) -> tuple[bytes, bytes]:
    """A message of exactly ``size`` octets with one base64 attachment; returns it and the
    attachment's bytes."""
    head = (
        "From: Carol <carol@elsewhere.test>\r\nTo: alice@facteur.test\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{uuid.uuid4()}@elsewhere.test>\r\n"
        "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        '--b\r\nContent-Type: application/octet-stream; name="big.bin"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode()
    tail = b"--b--\r\n"
    # base64 lines of 76 characters + CRLF carry 57 octets each.
    lines, rest = divmod(size - len(head) - len(tail), 78)
    payload = os.urandom(57 * lines)
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    padding = b" " * max(rest - 2, 0) + b"\r\n" if rest else b""  # whitespace: ignored
    raw = head + encoded + padding + tail
    assert len(raw) == size, (len(raw), size)
    return raw, payload


def connect(server, face: str):
    """A client of the server's ``face``, greeted (EHLO or LHLO)."""
    return smtp_client(server.smtp_port) if face == "smtp" else lmtp_client(server.lmtp_port)


def send_unannounced(client, recipients: list[str], raw: bytes) -> list[str]:
    """MAIL without SIZE= (the server learns the size only by reading), then DATA."""
    assert client.docmd("MAIL FROM:<carol@elsewhere.test>")[0] == 250
    accepted = sum(reply(client.rcpt(address)) == replies.RECIPIENT_OK for address in recipients)
    assert client.docmd("DATA")[0] == 354
    view = memoryview(raw)
    for start in range(0, len(raw), MIB):
        client.send(view[start : start + MIB])
    client.send(b".\r\n")
    return [reply(client.getreply()) for _ in range(accepted)]


def test_50_mib_over_the_limit_is_refused_and_the_service_goes_on(server, mailboxes):
    limit = settings.FACTEUR_MAX_MESSAGE_SIZE
    assert limit == 50 * MIB  # the default, what MTA-in allows too
    raw, _ = big_mail(limit + 1024, "Too big")
    with lmtp_client(server.lmtp_port) as client:
        answers = send_unannounced(client, ["alice@facteur.test", "bob@facteur.test"], raw)
        assert answers == [replies.MESSAGE_TOO_BIG, replies.MESSAGE_TOO_BIG]
        # The same session delivers the next message.
        after = lmtp_send(client, ["alice@facteur.test"], make_mail(subject="Next"))
        assert after[1] == [replies.DELIVERED]

    assert list(Message.objects.values_list("subject", flat=True)) == ["Next"]
    assert_nothing_half_stored()


def test_50_mib_under_a_raised_limit_is_stored_intact(serve, mailboxes):
    server = serve(data_size_limit=60 * MIB)
    raw, payload = big_mail(50 * MIB, "Big but allowed")
    with lmtp_client(server.lmtp_port) as client:
        answers = send_unannounced(client, ["alice@facteur.test", "bob@facteur.test"], raw)
    assert answers == [replies.DELIVERED, replies.DELIVERED]

    for mailbox in (mailboxes.alice, mailboxes.bob):
        message = Message.objects.get(mailbox=mailbox)
        assert message.size == len(raw)
        assert blob_read(blob=message.raw_blob) == raw
        attachment = Attachment.objects.get(message=message)
        assert blob_read(blob=attachment.blob) == payload
    # Two copies, one set of blobs.
    assert Message.objects.values("raw_blob").distinct().count() == 1
    assert_nothing_half_stored()


def test_a_thousand_recipients_in_one_transaction(server, mailboxes):
    limit = settings.FACTEUR_MAX_RECIPIENTS
    assert limit == 1000
    domain = mailboxes.alice.domain
    boxes = Mailbox.objects.bulk_create(
        Mailbox(domain=domain, local_part=f"user{n:04}") for n in range(limit + 5)
    )
    addresses = [box.address for box in boxes]
    # Deleted between RCPT and DATA: their 550s make the order of the replies visible.
    gone = {0, 1, 499, limit - 1}
    raw = make_mail(subject="To a crowd")
    with lmtp_client(server.lmtp_port) as client:
        assert client.mail("carol@elsewhere.test")[0] == 250
        at_rcpt = [reply(client.rcpt(address)) for address in addresses]
        assert at_rcpt == [replies.RECIPIENT_OK] * limit + [replies.TOO_MANY_RECIPIENTS] * 5
        Mailbox.objects.filter(pk__in=[boxes[n].pk for n in gone]).delete()
        at_data = [reply(client.data(raw))] + [reply(client.getreply()) for _ in range(limit - 1)]
        assert at_data == [
            replies.UNKNOWN_RECIPIENT if n in gone else replies.DELIVERED for n in range(limit)
        ]
        # The session goes on.
        assert lmtp_send(client, ["bob@facteur.test"], make_mail())[1] == [replies.DELIVERED]

    stored = Message.objects.filter(subject="To a crowd")
    assert stored.count() == limit - len(gone)
    assert stored.values("mailbox").distinct().count() == limit - len(gone)
    assert not stored.filter(mailbox__in=boxes[limit:]).exists()  # the 452s: nothing
    assert_nothing_half_stored()


EIGHT_BIT = (
    b"From: Caf\xc3\xa9 <carol@elsewhere.test>\r\nTo: alice@facteur.test\r\n"
    b"Subject: Cr\xe8me br\xfbl\xe9e\r\nMessage-ID: <8bit@elsewhere.test>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"UTF-8: caf\xc3\xa9\r\nLatin-1: caf\xe9\r\nControl: \x01\x7f\r\n"
)


@pytest.mark.parametrize("face", ["smtp", "lmtp"])
def test_8bit_text_without_a_charset_is_stored(server, mailboxes, face):
    with connect(server, face) as client:
        client.mail("carol@elsewhere.test")
        client.rcpt("alice@facteur.test")
        assert send_raw_data(client, EIGHT_BIT) == replies.DELIVERED

    message = Message.objects.get(mailbox=mailboxes.alice)
    assert blob_read(blob=message.raw_blob) == EIGHT_BIT
    # Undeclared bytes are guessed, never an error: UTF-8 when valid, else windows-1252.
    assert message.sender_name == "Café"
    assert message.subject == "Crème brûlée"
    assert "caf" in message.text_body
    assert_nothing_half_stored()


def test_a_bare_lf_message_longer_than_a_line_is_refused_whole(server, mailboxes):
    # Without a CRLF in 1,000 octets the whole message is one overlong line (RFC 5321
    # does not allow bare LF): a clear 5xx, not a message cut at some line.
    raw = make_mail(body="\r\n".join(["a line of text"] * 100)).replace(b"\r\n", b"\n")
    assert len(raw) > 1000
    with smtp_client(server.smtp_port) as client:
        client.mail("carol@elsewhere.test")
        client.rcpt("alice@facteur.test")
        assert send_raw_data(client, raw) == replies.LINE_TOO_LONG
        assert client.sendmail("carol@elsewhere.test", ["alice@facteur.test"], make_mail()) == {}

    assert Message.objects.get(mailbox=mailboxes.alice).subject == "Hello"
    assert_nothing_half_stored()


def _drop(sock: socket.socket, how: str) -> None:
    if how == "reset":  # RST instead of FIN, as a crashed sender's kernel would
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.parametrize("how", ["close", "reset"])
@pytest.mark.parametrize("face", ["smtp", "lmtp"])
def test_a_connection_dropped_in_data_stores_nothing(server, mailboxes, face, how):
    raw = make_mail(subject="Cut off", body="x" * 70 + "\r\nmore" * 1000)
    client = connect(server, face)
    client.mail("carol@elsewhere.test")
    client.rcpt("alice@facteur.test")
    client.rcpt("bob@facteur.test")
    assert client.docmd("DATA")[0] == 354
    client.send(raw[: len(raw) // 2])
    _drop(client.sock, how)

    # The server is alive and stores the next message; nothing of the cut one.
    with connect(server, face) as again:
        again.mail("carol@elsewhere.test")
        again.rcpt("alice@facteur.test")
        assert reply(again.data(make_mail(subject="After"))) == replies.DELIVERED
    assert list(Message.objects.values_list("subject", flat=True)) == ["After"]
    assert_nothing_half_stored()


@pytest.mark.parametrize("how", ["close", "reset"])
@pytest.mark.parametrize("face", ["smtp", "lmtp"])
def test_a_connection_dropped_before_the_reply_then_retried(server, mailboxes, face, how):
    # The whole message and its final dot are sent, the reply is never read: the
    # server may or may not have stored it. The sender has no 250, so it retries;
    # either way each mailbox ends with one copy.
    raw = make_mail(subject="Retried")
    client = connect(server, face)
    client.mail("carol@elsewhere.test")
    client.rcpt("alice@facteur.test")
    client.rcpt("bob@facteur.test")
    assert client.docmd("DATA")[0] == 354
    client.send(raw + b".\r\n")
    _drop(client.sock, how)

    with connect(server, face) as again:
        again.mail("carol@elsewhere.test")
        again.rcpt("alice@facteur.test")
        again.rcpt("bob@facteur.test")
        answers = [reply(again.data(raw))]
        answers += [reply(again.getreply())] if face == "lmtp" else []
    assert answers == [replies.DELIVERED] * len(answers)
    for mailbox in (mailboxes.alice, mailboxes.bob):
        assert Message.objects.filter(mailbox=mailbox, subject="Retried").count() == 1
    assert_nothing_half_stored()


@pytest.mark.parametrize("face", ["smtp", "lmtp"])
def test_malformed_commands_in_one_burst(server, mailboxes, face):
    burst = [
        (b"XYZZY plugh", 500),  # unknown verb (aiosmtpd allows four per session)
        (b"", 500),  # empty line
        (b"\xff\xfe\x00garbage", 500),  # not even ASCII
        (b"MAIL " + b"A" * 2000, 500),  # command line too long
        (b"RCPT TO:<alice@facteur.test>", 503),  # before MAIL
        (b"DATA", 503),
        (b"MAIL carol@elsewhere.test", 501),  # no FROM:
        (b"MAIL FROM:<carol@elsewhere.test> SIZE=abc", 501),
        (b"MAIL FROM:<carol@elsewhere.test>", 250),
        (b"MAIL FROM:<carol@elsewhere.test>", 503),  # nested MAIL
        (b"RCPT alice@facteur.test", 501),  # no TO:
        (b"RCPT TO:<alice@@facteur..test>", 553),
        (b"RCPT TO:<alice@facteur.test> NOTIFY=NEVER", 555),
        (b"DATA now", 503),  # no recipient yet
        (b"VRFY alice@facteur.test", 252),  # never confirms an address
        (b"NOOP", 250),
    ]
    with connect(server, face) as client:
        client.send(b"".join(line + b"\r\n" for line, _ in burst))
        codes = [client.getreply()[0] for _ in burst]
        assert codes == [code for _, code in burst]
        # The session is alive and delivers.
        client.rset()
        client.mail("carol@elsewhere.test")
        assert reply(client.rcpt("alice@facteur.test")) == replies.RECIPIENT_OK
        assert reply(client.data(make_mail())) == replies.DELIVERED

    assert Message.objects.filter(mailbox=mailboxes.alice).count() == 1
    assert_nothing_half_stored()


def test_a_fifth_unknown_verb_ends_the_session_not_the_service(server, mailboxes):
    # aiosmtpd's defence against a peer that does not speak SMTP (an HTTP client, say).
    with socket.create_connection((HOST, server.smtp_port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nUser-Agent: y\r\nZ: z\r\n")
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    assert received.endswith(b"502 5.5.1 Too many unrecognized commands, goodbye.\r\n")
    with smtp_client(server.smtp_port) as client:
        assert client.sendmail("carol@elsewhere.test", ["alice@facteur.test"], make_mail()) == {}
    assert Message.objects.filter(mailbox=mailboxes.alice).count() == 1
    assert_nothing_half_stored()
