"""A MailDomain's DKIM key: made once, kept in a Secret the MailDomain owns.

The Secret (``<MailDomain name>-dkim``) holds the active key: ``selector``, ``algorithm``
(rsa-sha256 | ed25519-sha256), ``private.key`` (what dkimpy takes: PEM for RSA, the
base64 seed for Ed25519), ``public`` (the DNS ``p=`` value) and ``created`` (ISO 8601).
The Secret is the key's source of truth; the backend gets a copy (stored encrypted).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from facteur.domains import dkimkeys
from facteur_operator.specs import DomainSpec

ALGORITHMS = {
    "rsa-2048": (dkimkeys.RSA_SHA256, 2048),
    "rsa-4096": (dkimkeys.RSA_SHA256, 4096),
    "ed25519": (dkimkeys.ED25519_SHA256, 0),
}
FIELDS = ("selector", "algorithm", "private.key", "public", "created")


@dataclass(frozen=True)
class DkimKey:
    selector: str
    algorithm: str
    private: bytes
    public: str
    created: datetime

    @property
    def txt(self) -> str:
        return dkimkeys.txt_value(self.algorithm, self.public)


def secret_name(resource_name: str) -> str:
    return f"{resource_name}-dkim"


def selector_for(prefix: str, now: datetime) -> str:
    """``<prefix>-<yyyymm>``: old and new records can both be published during a rotation."""
    return f"{prefix}-{now:%Y%m}"


def new_key(spec: DomainSpec, now: datetime, taken: set[str] | frozenset = frozenset()) -> DkimKey:
    """A new key; its selector differs from ``taken`` (selectors already published)."""
    algorithm, bits = ALGORITHMS[spec.dkim_algorithm]
    pair = dkimkeys.generate(algorithm, bits or 2048)
    base = selector = selector_for(spec.dkim_prefix, now)
    n = 1
    while selector in taken:
        n += 1
        selector = f"{base}-{n}"
    return DkimKey(selector, algorithm, pair.private, pair.public, now)


def secret_data(key: DkimKey, prefix: str = "") -> dict[str, str]:
    """The Secret's ``data`` (base64 values, as the API stores them)."""
    plain = {
        "selector": key.selector.encode(),
        "algorithm": key.algorithm.encode(),
        "private.key": key.private,
        "public": key.public.encode(),
        "created": key.created.isoformat().encode(),
    }
    return {prefix + k: base64.b64encode(v).decode() for k, v in plain.items()}


def key_from_data(data: dict, prefix: str = "") -> DkimKey | None:
    """The key stored under ``prefix`` in a Secret's data; None when it is not whole and
    consistent (then the reconcile reports it rather than overwrite what someone put there)."""
    try:
        plain = {k: base64.b64decode(data[prefix + k], validate=True) for k in FIELDS}
        key = DkimKey(
            selector=plain["selector"].decode(),
            algorithm=plain["algorithm"].decode(),
            private=plain["private.key"],
            public=plain["public"].decode(),
            created=datetime.fromisoformat(plain["created"].decode()),
        )
        if dkimkeys.public_of(key.algorithm, key.private) != key.public:
            return None
    except (KeyError, ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    return key


def key_from_secret(secret: dict) -> DkimKey | None:
    """The active key a Secret holds (see ``key_from_data``)."""
    return key_from_data(secret.get("data") or {})


def secret_body(*, name: str, namespace: str, domain: str, key: DkimKey) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "facteur-operator",
                "mail.facteur.dev/domain": domain,
            },
        },
        "data": secret_data(key),
    }
