"""MTA-in end to end: a real Postfix (rendered config), the policy service asking the live
backend, and the project's delivery service (in process, on its own event loop) storing
what Postfix hands it over LMTP.

Scenarios, each by SMTP to Postfix's public port (postscreen in front of smtpd):
- known mailbox and alias: 250 at RCPT, the message is stored in the mailbox;
- unknown address in our domain: 550 5.1.1 at RCPT;
- a disabled mailbox (retained after its Mailbox resource went), or one of a disabled
  domain: 550 5.2.1 at RCPT, by its address and its alias, and nothing stored;
- backend refusing the policy service (token mismatch): 451 4.3.0 at RCPT;
- policy service down: 451 4.3.5 at RCPT (Postfix's default action);
- another domain: 554 5.7.1 relay refused, although the client is on loopback;
- swaks (an independent SMTP client) gets the same acceptance.
"""

from __future__ import annotations

import shutil
import smtplib
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from facteur.blobs.services import blob_read
from facteur.domains import services as domain_services
from facteur.domains.models import Mailbox
from facteur.ingest.recipients import forget_destinations
from facteur.mail.models import Message
from tests import factories
from tests.mta import postfix_instance
from tests.mta.delivery_service import Delivery, wait_for_stored
from tests.mta.policy_service import TOKEN, PolicyThread

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not postfix_instance.postfix_available(), reason="needs Postfix as root (scripts/peers)"
    ),
]

SENDER = "alice@elsewhere.test"


@pytest.fixture(scope="module")
def lmtp() -> Iterator[Delivery]:
    delivery = Delivery()
    yield delivery
    delivery.stop()


@pytest.fixture(scope="module")
def policy_service(live_server) -> Iterator[PolicyThread]:
    service = PolicyThread(live_server.url)
    service.up()
    yield service
    service.close()


@pytest.fixture(scope="module")
def mta(lmtp, policy_service) -> Iterator[postfix_instance.Instance]:
    values = {
        "myhostname": "mx.tenant.test",
        "domains": "tenant.test",
        "lmtp_target": f"127.0.0.1:{lmtp.port}",
        "policy_service": f"127.0.0.1:{policy_service.port}",
    }
    with postfix_instance.running(values) as instance:
        yield instance


@pytest.fixture(autouse=True)
def mailbox(settings, transactional_db) -> Mailbox:
    settings.FACTEUR_SERVICE_TOKEN = TOKEN
    forget_destinations()  # the delivery service's lookups of earlier tests' rows
    box = factories.mailbox(factories.domain("tenant.test"), "contact", shared=True)
    domain_services.alias_create(mailbox=box, local_part="hello")
    return box


def mail(subject: str) -> bytes:
    return (
        f"From: Alice <{SENDER}>\r\nTo: contact@tenant.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4()}@elsewhere.test>\r\n"
        "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nHello over LMTP\r\n"
    ).encode()


def smtp(instance: postfix_instance.Instance) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", instance.smtp_port, local_hostname="client.example.test",
                          timeout=30)  # fmt: skip
    client.ehlo()
    assert client.mail(SENDER)[0] == 250
    return client


def test_known_recipient_is_delivered_over_lmtp(mta, lmtp, mailbox) -> None:
    client = smtp(mta)
    assert client.rcpt("contact@tenant.test")[0] == 250
    assert client.rcpt("hello@tenant.test")[0] == 250  # an alias of the same mailbox
    code, _ = client.data(mail("inbound through Postfix"))
    client.quit()
    assert code == 250
    message = wait_for_stored(mailbox, "inbound through Postfix")
    raw = blob_read(blob=message.raw_blob)
    # Postfix's own trace header: the message went through MTA-in, not around it.
    assert b"by mx.tenant.test (Postfix) with ESMTP" in raw
    # Two RCPTs of one mailbox (address and alias): stored once.
    assert Message.objects.filter(mailbox=mailbox).count() == 1


@pytest.mark.skipif(not shutil.which("swaks"), reason="needs swaks (scripts/peers)")
def test_swaks_is_accepted_and_stored(mta, lmtp, mailbox) -> None:
    result = subprocess.run(
        ["swaks", "--server", "127.0.0.1", "--port", str(mta.smtp_port),
         "--helo", "client.example.test", "--from", SENDER, "--to", "contact@tenant.test",
         "--header", "Subject: sent by swaks"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    wait_for_stored(mailbox, "sent by swaks")


def test_unknown_recipient_is_refused_at_rcpt(mta) -> None:
    client = smtp(mta)
    code, text = client.rcpt("nobody@tenant.test")
    client.quit()
    assert (code, text) == (
        550,
        b"5.1.1 <nobody@tenant.test>: Recipient address rejected: no such mailbox",
    )


def test_disabled_mailbox_is_refused_at_rcpt(mta, mailbox) -> None:
    # Addresses no earlier test asked about: the policy service caches its answers.
    retired = factories.mailbox(mailbox.domain, "retired")
    domain_services.alias_create(mailbox=retired, local_part="former")
    Mailbox.objects.filter(pk=retired.pk).update(is_disabled=True)
    client = smtp(mta)
    for address in ("retired@tenant.test", "former@tenant.test"):
        code, text = client.rcpt(address)
        assert (code, text) == (
            550,
            f"5.2.1 <{address}>: Recipient address rejected: mailbox disabled".encode(),
        )
    client.quit()
    assert not Message.objects.filter(mailbox=retired).exists()


def test_backend_error_defers(mta, settings) -> None:
    # The backend no longer knows the policy service's token: it answers 401.
    settings.FACTEUR_SERVICE_TOKEN = "rotated-token"
    client = smtp(mta)
    code, text = client.rcpt("contact-deferred@tenant.test")
    client.quit()
    assert code == 451 and text.startswith(b"4.3.0 "), (code, text)


def test_policy_service_down_defers(mta, policy_service) -> None:
    policy_service.down()
    try:
        client = smtp(mta)
        code, text = client.rcpt("contact@tenant.test")
        client.quit()
    finally:
        policy_service.up()
    assert code == 451 and text.startswith(b"4.3.5 "), (code, text)


def test_relaying_to_another_domain_is_refused(mta) -> None:
    client = smtp(mta)
    code, text = client.rcpt("someone@elsewhere.test")
    client.quit()
    assert code == 554 and b"Relay access denied" in text, (code, text)
