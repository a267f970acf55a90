"""DKIM-signing composed messages with the sending domain's key (dkimpy)."""

from __future__ import annotations

import logging

import dkim

from facteur.domains.models import DkimAlgorithm, MailDomain
from facteur.domains.services import dkim_key_ensure, dkim_key_private

logger = logging.getLogger(__name__)

# What a recipient sees and what a relay must not change. A header listed but absent
# (Cc, In-Reply-To on a new message) is signed as absent: adding one breaks the signature.
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"message-id",
    b"in-reply-to",
    b"references",
    b"mime-version",
    b"content-type",
)


def dkim_sign(*, raw: bytes, domain: MailDomain) -> bytes:
    """``raw`` with a DKIM-Signature header prepended (relaxed/relaxed).

    The domain's key is generated on first use; a domain whose keys were all
    deactivated gets its mail unsigned (logged).
    """
    key = dkim_key_ensure(domain=domain)
    if key is None:
        logger.warning("No active DKIM key for %s: sending unsigned.", domain.name)
        return raw
    signature = dkim.sign(
        message=raw,
        selector=key.selector.encode(),
        domain=domain.name.encode(),
        privkey=dkim_key_private(key=key),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=list(SIGNED_HEADERS),
        signature_algorithm=DkimAlgorithm(key.algorithm).value.encode(),
    )
    return signature + raw
