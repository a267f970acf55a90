"""Direct delivery (FACTEUR_SENDING_MODE=direct) over loopback: MX lookups from a real
DNS server, MX hosts on 127.0.0.2, 127.0.0.3 ... (tests/sending/mx_hosts.py)."""

from __future__ import annotations

import logging
import time

import pytest

from facteur.config import env
from facteur.mail.models import DeliveryStatus
from facteur.sending import mx, services
from facteur.sending.direct import direct_send
from facteur.sending.transport import send_remote
from tests import factories
from tests.sending.mx_hosts import HELO, add_mx
from tests.sending.test_send_service import _draft, _queued, _statuses

SENDER = "chloe@sender.test"
RAW = b"From: chloe@sender.test\r\nSubject: Devis\r\n\r\nBonjour.\r\n"


def _lines(replies) -> dict[str, str]:
    return {address: reply.line for address, reply in replies.items()}


def test_one_session_per_domain_with_all_its_recipients(zone, farm):
    one, two = farm.sink("127.0.0.2"), farm.sink("127.0.0.3")
    add_mx(zone, "one.test", (10, "mx.one.test", "127.0.0.2"))
    add_mx(zone, "two.test", (10, "mx.two.test", "127.0.0.3"))
    add_mx(zone, "three.test", (10, "mx.one.test", "127.0.0.2"))  # same host, other domain
    recipients = ["a@one.test", "c@two.test", "b@ONE.Test", "d@three.test"]

    replies = direct_send(sender=SENDER, recipients=recipients, raw=RAW)

    assert {r.code for r in replies.values()} == {250} and set(replies) == set(recipients)
    assert sorted(r.rcpt_tos for r in one.received) == [
        ["a@one.test", "b@ONE.Test"],
        ["d@three.test"],
    ]
    assert [r.rcpt_tos for r in two.received] == [["c@two.test"]]
    assert {r.mail_from for r in one.received + two.received} == {SENDER}
    assert all(r.content.endswith(b"Bonjour.\r\n") for r in one.received)
    assert {name for _, name in one.handler.sessions + two.handler.sessions} == {HELO}


def test_mx_preference_then_next_host_when_refused_or_greeting_4xx(zone, farm):
    busy = farm.greeter("127.0.0.4", "421 4.3.2 Too busy, come back later")
    good, spare = farm.sink("127.0.0.2"), farm.sink("127.0.0.3")
    # Listed out of order; 127.0.0.9 refuses connections (nobody listens there).
    add_mx(
        zone,
        "pref.test",
        (40, "spare.pref.test", "127.0.0.3"),
        (10, "down.pref.test", "127.0.0.9"),
        (30, "good.pref.test", "127.0.0.2"),
        (20, "busy.pref.test", "127.0.0.4"),
    )

    replies = direct_send(sender=SENDER, recipients=["x@pref.test"], raw=RAW)

    assert replies["x@pref.test"].code == 250
    assert busy.connections == 1
    assert [r.rcpt_tos for r in good.received] == [["x@pref.test"]]
    assert spare.received == []


def test_equal_preferences_are_shuffled(zone, settings):
    add_mx(
        zone,
        "twins.test",
        (10, "a.twins.test", "127.0.0.2"),
        (10, "b.twins.test", "127.0.0.3"),
        (5, "first.twins.test", "127.0.0.4"),
    )
    resolver = mx.make_resolver()
    orders = {
        tuple(d.host for d in mx.route("twins.test", resolver=resolver).destinations)
        for _ in range(30)
    }
    assert orders == {
        ("first.twins.test", "a.twins.test", "b.twins.test"),
        ("first.twins.test", "b.twins.test", "a.twins.test"),
    }


def test_a_5xx_greeting_answers_for_the_domain(zone, farm):
    farm.greeter("127.0.0.5", "554 5.7.1 No mail from you")
    backup = farm.sink("127.0.0.2")
    add_mx(zone, "rude.test", (10, "mx.rude.test", "127.0.0.5"), (20, "mx2.rude.test", "127.0.0.2"))

    replies = direct_send(sender=SENDER, recipients=["x@rude.test"], raw=RAW)

    assert replies["x@rude.test"].line == "554 5.7.1 No mail from you"
    assert backup.received == []


def test_every_host_failing_is_451_not_handed_over(zone, farm):
    farm.greeter("127.0.0.4", "421 4.3.2 Too busy")
    add_mx(
        zone,
        "dead.test",
        (10, "mx1.dead.test", "127.0.0.9"),
        (20, "mx2.dead.test", "127.0.0.4"),
        (30, "ghost.dead.test", "127.0.0.9"),
    )
    zone.records.pop(("ghost.dead.test", "A"))  # an MX name with no address at all
    zone.add("ghost.dead.test", "TXT", '"no address here"')

    reply = direct_send(sender=SENDER, recipients=["x@dead.test", "y@dead.test"], raw=RAW)

    assert reply["x@dead.test"] == reply["y@dead.test"]
    line = reply["x@dead.test"].line
    assert line.startswith("451 4.4.1 Not handed over: ")
    assert "mx1.dead.test[127.0.0.9]: ConnectionRefusedError" in line
    assert "mx2.dead.test[127.0.0.4]: greeting 421 4.3.2 Too busy" in line
    assert "ghost.dead.test has no address record" in line


def test_no_mx_means_the_domain_itself(zone, farm):
    sink = farm.sink("127.0.0.3")
    zone.add("bare.test", "A", "127.0.0.3")
    zone.add("nothing.test", "TXT", '"v=spf1 -all"')  # exists, but neither MX nor address

    replies = direct_send(sender=SENDER, recipients=["x@bare.test", "y@nothing.test"], raw=RAW)

    assert replies["x@bare.test"].code == 250
    assert [r.rcpt_tos for r in sink.received] == [["x@bare.test"]]
    assert replies["y@nothing.test"].line.startswith("550 5.1.2 ")


def test_dns_answers_that_end_delivery_or_postpone_it(zone, farm, settings):
    zone.add("nullmx.test", "MX", "0 .")
    zone.add("exists.test", "A", "127.0.0.9")  # *.exists.test: no such name
    zone.servfail.add("broken.test")
    zone.silent.add("slow.test")
    settings.FACTEUR_DNS_TIMEOUT = 1
    recipients = ["a@nullmx.test", "b@gone.exists.test", "c@broken.test", "d@slow.test"]

    started = time.monotonic()
    replies = _lines(direct_send(sender=SENDER, recipients=recipients, raw=RAW))

    assert time.monotonic() - started < 5  # lookups are bounded
    assert replies["a@nullmx.test"] == "556 5.1.10 nullmx.test accepts no mail (null MX)"
    assert replies["b@gone.exists.test"] == "550 5.1.2 Domain gone.exists.test does not exist"
    assert replies["c@broken.test"].startswith("451 4.4.3 Not handed over: DNS lookup of ")
    assert "SERVFAIL" in replies["c@broken.test"]
    assert replies["d@slow.test"].startswith("451 4.4.3 ") and "timed out" in replies["d@slow.test"]


def test_truncated_udp_answer_is_asked_again_over_tcp(zone, farm):
    sink = farm.sink("127.0.0.2")
    add_mx(zone, "big.test", (1, "mx.big.test", "127.0.0.2"))
    for n in range(60):  # far more than fits in a UDP answer
        zone.add("big.test", "MX", f"{100 + n} backup-{n:02}-with-a-long-name.big.test.")

    replies = direct_send(sender=SENDER, recipients=["x@big.test"], raw=RAW)

    assert replies["x@big.test"].code == 250 and len(sink.received) == 1
    assert zone.queried("big.test", "MX") == ["udp", "tcp"]


def test_idna_domain_is_encoded_and_non_ascii_local_part_refused(zone, farm):
    sink = farm.sink("127.0.0.2")
    add_mx(zone, "xn--caf-dma.test", (10, "mx.xn--caf-dma.test", "127.0.0.2"))

    replies = direct_send(sender=SENDER, recipients=["jose@café.test", "josé@café.test"], raw=RAW)

    assert replies["jose@café.test"].code == 250
    assert replies["josé@café.test"].line.startswith("553 5.6.7 ")
    assert [r.rcpt_tos for r in sink.received] == [["jose@xn--caf-dma.test"]]


def test_starttls_when_offered_without_checking_the_certificate(zone, farm):
    secure, plain = farm.sink("127.0.0.2", tls="ok"), farm.sink("127.0.0.3")
    add_mx(zone, "secure.test", (10, "mx.secure.test", "127.0.0.2"))
    add_mx(zone, "plain.test", (10, "mx.plain.test", "127.0.0.3"))

    replies = direct_send(sender=SENDER, recipients=["x@secure.test", "y@plain.test"], raw=RAW)

    assert {r.code for r in replies.values()} == {250}
    assert secure.handler.sessions == [(True, HELO)]  # self-signed, for another name
    assert plain.handler.sessions == [(False, HELO)]


def test_failed_tls_handshake_is_retried_in_plaintext(zone, farm, caplog):
    sink = farm.sink("127.0.0.2", tls="broken")
    add_mx(zone, "oldtls.test", (10, "mx.oldtls.test", "127.0.0.2"))

    with caplog.at_level(logging.INFO, logger="facteur.sending.direct"):
        replies = direct_send(sender=SENDER, recipients=["x@oldtls.test"], raw=RAW)

    assert replies["x@oldtls.test"].code == 250
    assert sink.handler.sessions == [(False, HELO)]
    assert any(
        "TLS failed" in r.getMessage() and "plaintext" in r.getMessage() for r in caplog.records
    )


def test_starttls_refused_goes_on_in_plaintext(zone, farm, caplog):
    sink = farm.sink("127.0.0.2", tls="refused")
    add_mx(zone, "notnow.test", (10, "mx.notnow.test", "127.0.0.2"))

    with caplog.at_level(logging.INFO, logger="facteur.sending.direct"):
        replies = direct_send(sender=SENDER, recipients=["x@notnow.test"], raw=RAW)

    assert replies["x@notnow.test"].code == 250
    assert sink.handler.sessions == [(False, HELO)]
    messages = [r.getMessage() for r in caplog.records]
    assert any("STARTTLS refused (454 4.7.0" in m for m in messages)
    assert not any("again in plaintext" in m for m in messages)  # the same session


def test_send_remote_dispatches_on_the_sending_mode(zone, farm, settings):
    sink = farm.sink("127.0.0.2")
    add_mx(zone, "mode.test", (10, "mx.mode.test", "127.0.0.2"))
    replies = send_remote(sender=SENDER, recipients=["x@mode.test"], raw=RAW)
    assert replies["x@mode.test"].code == 250
    assert len(sink.received) == 1


@pytest.mark.django_db
def test_per_recipient_statuses_through_the_send_service(
    zone,
    farm,
    django_capture_on_commit_callbacks,
):
    sender_box = factories.mailbox(factories.domain("sender.test"), "chloe")
    mx_one = farm.sink("127.0.0.2")
    mx_one.answer(r"^later@", "451 4.2.1 Mailbox busy, try later")
    mx_one.answer(r"^nobody@", "550 5.1.1 No such user")
    add_mx(zone, "one.test", (10, "mx.one.test", "127.0.0.2"))
    zone.add("nullmx.test", "MX", "0 .")
    zone.servfail.add("broken.test")
    draft = _draft(
        sender_box,
        to=[{"email": "ok@one.test"}, {"email": "later@one.test"}],
        cc=[{"email": "nobody@one.test"}, {"email": "x@nullmx.test"}],
        bcc=[{"email": "y@gone.test"}, {"email": "z@broken.test"}],
    )
    message = _queued(draft, django_capture_on_commit_callbacks)

    wait = services.message_send(message_id=message.pk)

    assert 55 <= wait <= 60  # the first retry
    assert _statuses(message) == {
        "ok@one.test": DeliveryStatus.SENT,
        "later@one.test": DeliveryStatus.RETRYING,
        "nobody@one.test": DeliveryStatus.FAILED,
        "x@nullmx.test": DeliveryStatus.FAILED,
        "y@gone.test": DeliveryStatus.FAILED,
        "z@broken.test": DeliveryStatus.RETRYING,
    }
    messages = dict(message.recipients.values_list("email", "delivery_message"))
    assert messages["ok@one.test"].startswith("250 2.0.0 Ok: queued as SINK1")
    assert messages["later@one.test"] == "451 4.2.1 Mailbox busy, try later"
    assert messages["x@nullmx.test"].startswith("556 5.1.10")
    assert messages["y@gone.test"].startswith("550 5.1.2")
    assert [r.rcpt_tos for r in mx_one.received] == [["ok@one.test"]]
    assert mx_one.received[0].mail_from == sender_box.address
    assert mx_one.received[0].content.startswith(b"DKIM-Signature:")


def test_settings_parsers(monkeypatch):
    monkeypatch.setenv("X_RESOLVERS", "192.0.2.1, 192.0.2.2:5353,2001:db8::1,[2001:db8::2]:53")
    assert env.socket_addresses("X_RESOLVERS", default_port=53) == [
        ("192.0.2.1", 53),
        ("192.0.2.2", 5353),
        ("2001:db8::1", 53),
        ("2001:db8::2", 53),
    ]
    monkeypatch.delenv("X_RESOLVERS")
    assert env.socket_addresses("X_RESOLVERS", default_port=53) == []
    for bad in ("dns.example", "192.0.2.1:0", "192.0.2.1:x", "[2001:db8::1]x"):
        monkeypatch.setenv("X_RESOLVERS", bad)
        with pytest.raises(env.ImproperlyConfiguredEnv, match="X_RESOLVERS"):
            env.socket_addresses("X_RESOLVERS", default_port=53)
    monkeypatch.setenv("X_MODE", "mx")
    with pytest.raises(env.ImproperlyConfiguredEnv, match="relay, direct"):
        env.choice("X_MODE", "relay", ("relay", "direct"))
