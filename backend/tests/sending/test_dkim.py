"""DKIM keys and signatures, verified by dkimpy and by OpenDKIM (an independent implementation)."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from django.db import IntegrityError, transaction
from django.utils import timezone

from facteur.domains import services as domain_services
from facteur.domains.models import DkimKey
from facteur.sending.compose import compose_message
from facteur.sending.dkim import dkim_sign
from tests import factories
from tests.sending.dkim_check import dnsfunc_for, opendkim_verify

DATE = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


@pytest.fixture
def signed_reply(reply_draft) -> tuple[DkimKey, bytes]:
    domain = reply_draft.mailbox.domain
    signed = dkim_sign(raw=compose_message(draft=reply_draft, date=DATE), domain=domain)
    return domain_services.dkim_key_active(domain=domain), signed


def test_key_is_generated_on_first_use_and_stored_encrypted(db):
    domain = factories.domain("example.test")
    assert domain_services.dkim_key_active(domain=domain) is None  # none until first use

    key = domain_services.dkim_key_ensure(domain=domain)

    assert key.is_active and key.algorithm == "rsa-sha256"
    assert key.selector == f"facteur-{timezone.now():%Y%m}"
    assert domain_services.dkim_key_ensure(domain=domain) == key
    stored = DkimKey.objects.values_list("private_key_encrypted", flat=True).get(pk=key.pk)
    assert "PRIVATE KEY" not in stored and "MII" not in stored
    pem = domain_services.dkim_key_private(key=key)
    private = serialization.load_pem_private_key(pem, password=None)
    assert private.key_size == 2048
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key.public_key == base64.b64encode(public_der).decode()
    assert domain_services.dkim_txt_value(key=key) == f"v=DKIM1; k=rsa; p={key.public_key}"


def test_encryption_key_setting_is_used(db, settings):
    from cryptography.fernet import Fernet, InvalidToken

    settings.FACTEUR_DKIM_ENCRYPTION_KEY = Fernet.generate_key().decode()
    key = domain_services.dkim_key_generate(domain=factories.domain(), bits=1024)
    assert domain_services.dkim_key_private(key=key).startswith(b"-----BEGIN PRIVATE KEY")

    settings.FACTEUR_DKIM_ENCRYPTION_KEY = ""  # now derived from SECRET_KEY: another key
    with pytest.raises(InvalidToken):
        domain_services.dkim_key_private(key=key)


def test_rotation_gives_a_new_selector_and_one_active_key(db):
    domain = factories.domain()
    first = domain_services.dkim_key_generate(domain=domain, bits=1024)
    second = domain_services.dkim_key_generate(domain=domain, bits=1024)

    first.refresh_from_db()
    assert not first.is_active and second.is_active
    assert second.selector == f"{first.selector}-2"
    assert domain_services.dkim_key_active(domain=domain) == second
    with pytest.raises(IntegrityError), transaction.atomic():
        DkimKey.objects.filter(pk=first.pk).update(is_active=True)


def test_bad_selector_and_algorithm_are_refused(db):
    from django.core.exceptions import ValidationError

    domain = factories.domain()
    with pytest.raises(ValidationError):
        domain_services.dkim_key_generate(domain=domain, selector="bad_selector")
    with pytest.raises(ValidationError):
        domain_services.dkim_key_generate(domain=domain, algorithm="rsa-sha1")


def signature_tags(signed: bytes) -> dict[bytes, bytes]:
    head = signed.split(b"\r\n\r\n", 1)[0]
    first = head.split(b"\r\n")[0]
    folded = [first] + [
        line for line in head.split(b"\r\n")[1:] if line[:1] in (b" ", b"\t")
    ]  # the DKIM-Signature header and its continuation lines, as dkimpy folds it
    value = b"".join(line.strip() for line in folded).split(b":", 1)[1]
    return dkim.util.parse_tag_value(value)


def test_dkimpy_verifies_the_signature(signed_reply):
    key, signed = signed_reply
    tags = signature_tags(signed)

    assert signed.startswith(b"DKIM-Signature: ")
    assert tags[b"a"] == b"rsa-sha256" and tags[b"c"] == b"relaxed/relaxed"
    assert tags[b"s"] == key.selector.encode() and tags[b"d"] == b"example.test"
    names = {name.strip() for name in tags[b"h"].split(b":")}
    assert names == {
        b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"in-reply-to",
        b"references", b"mime-version", b"content-type",
    }  # fmt: skip
    assert dkim.verify(signed, dnsfunc=dnsfunc_for(key))


def test_tampering_breaks_dkimpy_verification(signed_reply):
    key, signed = signed_reply
    tampered_body = signed.replace(b"Voil=C3=A0.", b"Voici.", 1)
    tampered_subject = signed.replace(b"de lundi", b"de mardi", 1)
    assert tampered_body != signed and tampered_subject != signed

    assert not dkim.verify(tampered_body, dnsfunc=dnsfunc_for(key))
    assert not dkim.verify(tampered_subject, dnsfunc=dnsfunc_for(key))


def test_opendkim_verifies_and_rejects_tampering(signed_reply, tmp_path):
    key, signed = signed_reply

    verdict = opendkim_verify(tmp_path / "good", key, signed)
    assert "verification" in verdict and "succeeded" in verdict, verdict

    tampered = signed.replace(b"Voil=C3=A0.", b"Voici.", 1)
    verdict = opendkim_verify(tmp_path / "bad", key, tampered)
    assert "succeeded" not in verdict, verdict
    assert "verification" in verdict and "failed" in verdict, verdict


def test_opendkim_verifies_a_relaxed_header_rewrite(signed_reply, tmp_path):
    # relaxed/relaxed: a relay refolding or re-spacing headers does not break the signature.
    key, signed = signed_reply
    head, body = signed.split(b"\r\n\r\n", 1)
    refolded = head.replace(b"Subject: Re:", b"Subject:    Re:") + b"\r\n\r\n" + body
    assert dkim.verify(refolded, dnsfunc=dnsfunc_for(key))
    verdict = opendkim_verify(tmp_path / "relaxed", key, refolded)
    assert "succeeded" in verdict, verdict


def test_domain_with_deactivated_keys_is_not_signed(db, caplog):
    domain = factories.domain()
    domain_services.dkim_key_generate(domain=domain, bits=1024)
    DkimKey.objects.filter(domain=domain).update(is_active=False)
    raw = b"From: a@b.test\r\nSubject: x\r\n\r\nbody\r\n"

    with caplog.at_level(logging.WARNING, logger="facteur.sending.dkim"):
        assert dkim_sign(raw=raw, domain=domain) == raw
    assert "No active DKIM key" in caplog.text


def test_ed25519_signature(reply_draft):
    domain = reply_draft.mailbox.domain
    key = domain_services.dkim_key_generate(domain=domain, algorithm="ed25519-sha256")
    signed = dkim_sign(raw=compose_message(draft=reply_draft, date=DATE), domain=domain)

    assert b"a=ed25519-sha256" in signed.split(b"\r\n\r\n", 1)[0]
    assert domain_services.dkim_txt_value(key=key).startswith("v=DKIM1; k=ed25519; p=")
    assert dkim.verify(signed, dnsfunc=dnsfunc_for(key))
