"""Mangled versions of every fixture: parsing never raises and ingest always stores."""

from __future__ import annotations

import random

import pytest

from facteur.ingest.parse import parse_message
from facteur.ingest.services import Outcome, ingest_message
from facteur.mail.models import Message
from tests.ingest.conftest import FIXTURES


def mangled(raw: bytes, rng: random.Random) -> bytes:
    choice = rng.randrange(6)
    if choice == 0:  # cut short anywhere, as a dropped connection would
        return raw[: rng.randrange(len(raw) + 1)]
    data = bytearray(raw)
    if choice == 1:  # random bytes flipped
        for _ in range(rng.randrange(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif choice == 2:  # a random run of junk inserted
        at = rng.randrange(len(data) + 1)
        data[at:at] = rng.randbytes(rng.randrange(1, 200))
    elif choice == 3:  # line endings mixed
        return raw.replace(b"\r\n", rng.choice([b"\n", b"\r", b"\r\r\n"]))
    elif choice == 4:  # headers duplicated into the body and back
        half = len(data) // 2
        data = data[half:] + data[:half]
    else:  # 8-bit everywhere
        data = bytearray(b ^ 0x80 if 0x61 <= b <= 0x7A and rng.random() < 0.1 else b for b in data)
    return bytes(data)


FIXTURE_FILES = sorted(FIXTURES.glob("*.eml"))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_parse_never_raises_on_mangled_fixtures(path):
    rng = random.Random(path.name)
    raw = path.read_bytes()
    for _ in range(40):
        parsed = parse_message(mangled(raw, rng))
        assert isinstance(parsed.errors, list)
        assert "\x00" not in parsed.subject + parsed.text_body + parsed.html_body
        assert all("\x00" not in value for _, value in parsed.headers)


def test_ingest_stores_mangled_fixtures(alice):
    rng = random.Random(1)
    count = 0
    for path in FIXTURE_FILES:
        raw = path.read_bytes()
        for _ in range(3):
            result = ingest_message(raw=mangled(raw, rng), recipients=["alice@facteur.test"])
            assert result.recipients[0].outcome in (Outcome.STORED, Outcome.DUPLICATE)
            count += result.recipients[0].outcome == Outcome.STORED
    assert Message.objects.count() == count > 0


@pytest.mark.parametrize("raw", [b"", b"\r\n", b"\x00" * 100, b"From: \r\n\r\n", b":\r\n:"])
def test_ingest_stores_degenerate_input(alice, raw):
    result = ingest_message(raw=raw, recipients=["alice@facteur.test"])
    assert result.recipients[0].outcome == Outcome.STORED
    assert Message.objects.get().size == len(raw)


def test_eight_bit_garbage_in_mime_parameters_on_the_lenient_path(alice):
    raw = (
        b"From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b'--b\r\nContent-Type: text/pl\xe9ain; charset="utf\xff8"\r\n\r\nhi \xe9\r\n'
        b'--b\r\nContent-Type: image/p\xffng; name="f\xe9.png"\r\nContent-ID: <c\xff@x>\r\n'
        b"Content-Disposition: attachment; filename*=x-unknown''f%FF.png\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!garbage\r\n--b--\r\n"
    )
    result = ingest_message(raw=raw, recipients=["alice@facteur.test"])
    assert result.recipients[0].outcome == Outcome.STORED
    assert result.is_malformed
    message = Message.objects.get()
    assert message.attachments.count() == 2
