"""MTA-out end to end: the backend's send path (``message_send_request`` then
``message_send``) hands a DKIM-signed reply to a real Postfix rendered by
``facteur-mta-config out`` (submission port, STARTTLS with a test CA, SASL login against a
sasldb made from a password file), which relays it to an aiosmtpd sink on loopback (its
``relayhost``) and routes our own domain over LMTP to the delivery service.

Scenarios:
- the sink gets the message with a valid DKIM signature (dkimpy and OpenDKIM against the
  TXT value the backend publishes), the reply headers intact, no Bcc header and no trace of
  the backend's submission (its Received header is stripped on the way out);
- the sink answers 4xx, then accepts: Postfix retries and the sink gets the message once;
- the sink answers 5xx: Postfix's bounce (DSN) lands in the sender's mailbox over LMTP;
- SASL: a wrong password is refused with 535, no AUTH means no relaying (554 5.7.1, from
  loopback too), AUTH is not offered before STARTTLS;
- a smarthost that wants STARTTLS and AUTH (another aiosmtpd): MTA-out logs in with the
  credentials of its mounted password map.
"""

from __future__ import annotations

import email
import re
import shutil
import smtplib
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dkim
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from django.utils import timezone

from facteur import celery_app
from facteur.blobs.services import blob_read
from facteur.domains.models import DkimKey, Mailbox
from facteur.ingest.recipients import forget_destinations
from facteur.mail.models import DeliveryStatus, Message
from facteur.mail.services.drafts import DraftFields, draft_create
from facteur.sending import services
from facteur.sending.delivery_reports import delivery_report_apply
from tests import factories
from tests.mta import postfix_instance, tls_ca
from tests.mta.delivery_service import Delivery, wait_for_stored
from tests.net import free_port
from tests.sending.dkim_check import dnsfunc_for, opendkim_verify
from tests.sending.smtp_sink import SinkHandler
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not postfix_instance.postfix_available(), reason="needs Postfix as root (scripts/peers)"
    ),
]

MTA_HOSTNAME = "mta-out.test"
DOMAIN = "sender.test"
SASL_USER = "facteur"
SASL_PASSWORD = 'relay pass: 7 words; \\ and "quotes"'  # blanks and quotes survive saslpasswd2
BOUNCE_SUBJECT = "Undelivered Mail Returned to Sender"


@dataclass
class Sink(SinkHandler):
    """The Internet as seen from MTA-out: keeps what it gets; ``once`` answers the first
    RCPT of a matching address with a reply, then lets the address through."""

    once: dict[str, str] = field(default_factory=dict)
    tried: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        self.tried.append(address)
        for pattern, reply in list(self.once.items()):
            if re.search(pattern, address):
                del self.once[pattern]
                return reply
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    def reset(self) -> None:
        self.received.clear()
        self.rcpt_replies.clear()
        self.once.clear()
        self.tried.clear()


@pytest.fixture(scope="module")
def certificates() -> Iterator[tls_ca.Certificates]:
    folder = Path(tempfile.mkdtemp(prefix="facteur-tls-"))
    yield tls_ca.issue(folder, MTA_HOSTNAME)
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


@pytest.fixture(scope="module")
def lmtp() -> Iterator[Delivery]:
    delivery = Delivery()
    yield delivery
    delivery.stop()


@pytest.fixture(scope="module")
def internet() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@contextmanager
def mta_out(lmtp_port: int, certificates, **values: str) -> Iterator[postfix_instance.Instance]:
    """MTA-out as deployed, on loopback: TLS with the test CA's certificate, the backend's
    SASL login, retries within seconds."""
    secrets = Path(tempfile.mkdtemp(prefix="facteur-secrets-"))
    secrets.chmod(0o755)
    values = {
        "myhostname": MTA_HOSTNAME,
        "domains": DOMAIN,
        "lmtp_target": f"127.0.0.1:{lmtp_port}",
        "tls_cert_file": str(certificates.cert_file),
        "tls_key_file": str(certificates.key_file),
        "sasldb_path": str(secrets / "sasldb2"),
        "queue_run_delay": "1s",
        "minimal_backoff_time": "1s",
        "maximal_backoff_time": "2s",
        **values,
    }
    try:
        with postfix_instance.running(values, role="out", sasl_password=SASL_PASSWORD) as inst:
            yield inst
    finally:
        shutil.rmtree(secrets, ignore_errors=True)


@pytest.fixture(scope="module")
def mta(lmtp, internet, certificates) -> Iterator[postfix_instance.Instance]:
    _, sink_port = internet
    with mta_out(lmtp.port, certificates, relayhost=f"[127.0.0.1]:{sink_port}") as instance:
        yield instance


@pytest.fixture
def sink(internet) -> Iterator[Sink]:
    handler, _ = internet
    handler.reset()
    yield handler
    handler.reset()


@pytest.fixture
def relay_settings(settings, mta, certificates):
    """The backend sends through MTA-out as in production: STARTTLS checked against the
    (test) CA, then AUTH."""
    settings.FACTEUR_SENDING_MODE = "relay"
    settings.FACTEUR_RELAY_HOST = "127.0.0.1"
    settings.FACTEUR_RELAY_PORT = mta.smtp_port
    settings.FACTEUR_RELAY_STARTTLS = True
    settings.FACTEUR_RELAY_CA_FILE = str(certificates.ca_file)
    settings.FACTEUR_RELAY_USERNAME = SASL_USER
    settings.FACTEUR_RELAY_PASSWORD = SASL_PASSWORD
    settings.FACTEUR_SEND_UNDO_SECONDS = 0
    return settings


@pytest.fixture
def sender_box(transactional_db) -> Iterator[Mailbox]:
    forget_destinations()  # the delivery service's lookups of earlier tests' rows
    yield factories.mailbox(factories.domain(DOMAIN), "chloe")
    # message_send_request queued a Celery task (no worker here): leave no task behind.
    celery_app.control.purge()


def send(box: Mailbox, reply_to: Message | None = None, retry: bool = False, **people) -> Message:
    """Send a draft the way the API does: request (queued), then the task's service, which
    returns when to run again (``retry``) or None."""
    draft = draft_create(
        mailbox=box,
        reply_to=reply_to,
        fields=DraftFields(subject="Devis", text_body="Bonjour,\nle devis.\n", **people),
    )
    message = services.message_send_request(draft=draft)
    assert message.send_at <= timezone.now()
    again = services.message_send(message_id=message.pk)
    assert (again is not None) == retry, again
    return message


def statuses(message: Message) -> dict[str, tuple[str, str]]:
    return {r.email: (r.delivery_status, r.delivery_message) for r in message.recipients.all()}


def headers(raw: bytes, name: str) -> list[str]:
    return [str(v) for v in email.message_from_bytes(raw).get_all(name, [])]


def test_signed_reply_reaches_the_internet_intact(relay_settings, sink, sender_box, tmp_path):
    original = factories.message_create(sender_box, subject="Réunion")
    Message.objects.filter(pk=original.pk).update(references=["first@elsewhere.test"])
    original.refresh_from_db()
    message = send(
        sender_box,
        reply_to=original,
        to=[{"name": "Alice", "email": "alice@elsewhere.test"}],
        cc=[{"email": "bob@elsewhere.test"}],
        bcc=[{"email": "hidden@elsewhere.test"}],
    )

    # MTA-out took it for everyone: the backend's job is done.
    for status, reply in statuses(message).values():
        assert status == DeliveryStatus.SENT
        assert reply.startswith("250 2.0.0 Ok: queued as "), reply
    wait_until(lambda: sum(len(r.rcpt_tos) for r in sink.received) == 3)
    assert len(sink.received) == 1  # one transaction to the relayhost
    got = sink.received[0]
    assert got.mail_from == sender_box.address
    assert sorted(got.rcpt_tos) == [
        "alice@elsewhere.test", "bob@elsewhere.test", "hidden@elsewhere.test",
    ]  # fmt: skip

    key = DkimKey.objects.get(domain=sender_box.domain, is_active=True)
    assert dkim.verify(got.content, dnsfunc=dnsfunc_for(key))
    verdict = opendkim_verify(tmp_path / "opendkim", key, got.content)
    assert "verification" in verdict and "succeeded" in verdict, verdict

    assert headers(got.content, "Message-ID") == [f"<{message.mime_id}>"]
    assert headers(got.content, "In-Reply-To") == [f"<{original.mime_id}>"]
    assert headers(got.content, "References")[0].split() == [
        "<first@elsewhere.test>", f"<{original.mime_id}>",
    ]  # fmt: skip
    assert headers(got.content, "Bcc") == [] and b"hidden@" not in got.content
    # The backend's submission left no trace: Postfix's Received header for it is gone.
    head = got.content.split(b"\r\n\r\n", 1)[0]
    assert b"127.0.0.1" not in head and b"ESMTPSA" not in head and b"localhost" not in head
    assert headers(got.content, "Received") == []


def test_4xx_then_accepted_is_retried_and_arrives_once(relay_settings, mta, sink, sender_box):
    sink.once[r"^later@"] = "451 4.3.0 Try again later"
    message = send(sender_box, to=[{"email": "later@elsewhere.test"}])
    assert statuses(message)["later@elsewhere.test"][0] == DeliveryStatus.SENT

    wait_until(lambda: sink.received, timeout=30)
    assert sink.tried == ["later@elsewhere.test", "later@elsewhere.test"]  # refused, then taken
    assert "451 4.3.0 Try again later" in mta.log and "status=deferred" in mta.log
    wait_until(lambda: mta.queue() == [], timeout=10)  # nothing left to send again
    assert [r.rcpt_tos for r in sink.received] == [["later@elsewhere.test"]]
    assert b"Subject: Devis" in sink.received[0].content


def test_5xx_bounce_lands_in_the_senders_mailbox(relay_settings, mta, lmtp, sink, sender_box):
    sink.rcpt_replies[r"^gone@"] = "550 5.1.1 No such user here"
    message = send(sender_box, to=[{"email": "gone@elsewhere.test"}])
    assert statuses(message)["gone@elsewhere.test"][0] == DeliveryStatus.SENT  # MTA-out took it

    bounce = wait_for_stored(sender_box, BOUNCE_SUBJECT, timeout=30)
    assert not bounce.is_sender
    raw = blob_read(blob=bounce.raw_blob)
    assert b"From: Mail Delivery System <MAILER-DAEMON@sender.test>" in raw  # myorigin
    assert b"Content-Type: multipart/report; report-type=delivery-status" in raw
    assert b"Final-Recipient: rfc822; gone@elsewhere.test" in raw
    assert b"550 5.1.1 No such user here" in raw
    assert f"<{message.mime_id}>".encode() in raw  # the returned message's headers
    # The queue's copy carries the submission's Received header; only what leaves loses it.
    assert b"with ESMTPSA" in raw
    assert sink.received == []
    wait_until(lambda: mta.queue() == [], timeout=10)

    # What ingest queued for the worker when it stored the DSN, run here: the report is
    # matched back to the recipient, which MTA-out had accepted.
    assert delivery_report_apply(message_id=bounce.pk) == "1 updated"
    status, reply = statuses(message)["gone@elsewhere.test"]
    assert status == DeliveryStatus.FAILED
    assert "550 5.1.1 No such user here" in reply


def test_wrong_password_is_refused_with_535(relay_settings, mta, sink, sender_box):
    relay_settings.FACTEUR_RELAY_PASSWORD = "not the password"
    message = send(sender_box, retry=True, to=[{"email": "alice@elsewhere.test"}])
    status, reply = statuses(message)["alice@elsewhere.test"]
    assert status == DeliveryStatus.RETRYING
    assert reply.startswith("451 Not handed over: SMTPAuthenticationError") and "535" in reply
    assert "SASL PLAIN authentication failed" in mta.log
    assert "not the password" not in mta.log and SASL_PASSWORD not in mta.log


def test_relay_certificate_is_checked_against_the_configured_ca(relay_settings, mta, sender_box):
    relay_settings.FACTEUR_RELAY_CA_FILE = ""  # the system CAs do not know the test CA
    message = send(sender_box, retry=True, to=[{"email": "alice@elsewhere.test"}])
    status, reply = statuses(message)["alice@elsewhere.test"]
    assert status == DeliveryStatus.RETRYING
    assert reply.startswith("451 Not handed over: SSLCertVerificationError"), reply


def test_without_auth_nothing_is_relayed(relay_settings, mta, sink, sender_box):
    relay_settings.FACTEUR_RELAY_USERNAME = ""
    message = send(sender_box, to=[{"email": "alice@elsewhere.test"}])
    status, reply = statuses(message)["alice@elsewhere.test"]
    assert status == DeliveryStatus.FAILED
    assert reply == "554 5.7.1 <alice@elsewhere.test>: Relay access denied"
    # Nor to our own domain, which MTA-out routes to the delivery service.
    client = smtplib.SMTP("127.0.0.1", mta.smtp_port, local_hostname="backend.test", timeout=30)
    client.ehlo()
    assert client.mail("chloe@sender.test")[0] == 250
    code, text = client.rcpt("chloe@sender.test")
    client.quit()
    assert code == 554 and text.startswith(b"5.7.1 "), (code, text)
    assert sink.received == []


def test_auth_is_offered_after_starttls_only(mta, certificates):
    client = smtplib.SMTP("127.0.0.1", mta.smtp_port, local_hostname="backend.test", timeout=30)
    client.ehlo()
    assert client.has_extn("starttls") and not client.has_extn("auth")
    code, _ = client.docmd("AUTH", "PLAIN AGZhY3RldXIAeA==")
    assert code == 503  # no AUTH in clear, even when asked
    client.starttls(context=ssl.create_default_context(cafile=str(certificates.ca_file)))
    client.ehlo()
    assert client.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login(SASL_USER, "wrong")
    assert refused.value.smtp_code == 535
    assert client.login(SASL_USER, SASL_PASSWORD)[0] == 235
    client.quit()


def test_smarthost_gets_the_credentials_of_the_mounted_map(
    relay_settings, lmtp, certificates, sender_box, tmp_path
):
    logins: list[tuple[bytes, bytes, bool]] = []

    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password, session.ssl is not None))
        ok = (auth_data.login, auth_data.password) == (b"tenant-42", b"smarthost-secret")
        return AuthResult(success=ok)

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certificates.cert_file, certificates.key_file)
    smarthost = SinkHandler()
    controller = Controller(
        smarthost, hostname="127.0.0.1", port=free_port(), tls_context=tls,
        require_starttls=True, auth_required=True, authenticator=authenticator,
    )  # fmt: skip
    controller.start()
    password_map = tmp_path / "relay-passwd"  # the mounted Secret, read as is by Postfix
    password_map.write_text(f"[127.0.0.1]:{controller.port} tenant-42:smarthost-secret\n")
    password_map.chmod(0o600)
    try:
        with mta_out(
            lmtp.port,
            certificates,
            relayhost=f"[127.0.0.1]:{controller.port}",
            relayhost_password_map=str(password_map),
        ) as instance:
            relay_settings.FACTEUR_RELAY_PORT = instance.smtp_port
            send(sender_box, to=[{"email": "alice@elsewhere.test"}])
            wait_until(lambda: smarthost.received, timeout=30)
            log = instance.log
    finally:
        controller.stop()
    assert logins == [(b"tenant-42", b"smarthost-secret", True)]  # inside TLS only
    assert smarthost.received[0].rcpt_tos == ["alice@elsewhere.test"]
    assert "smarthost-secret" not in log
