"""DKIM key pairs: generation and the DNS TXT value. Pure, no Django.

The backend (``dkim_key_generate``) and the operator (a MailDomain's key Secret) make
keys here. ``public`` is what the ``p=`` tag carries: base64 of the SubjectPublicKeyInfo
DER for RSA, of the raw 32-byte key for Ed25519 (RFC 8463). ``private`` is what dkimpy
takes: PKCS#8 PEM for RSA, base64 of the 32-byte seed for Ed25519.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

RSA_SHA256 = "rsa-sha256"
ED25519_SHA256 = "ed25519-sha256"
RSA_BITS = (1024, 2048, 3072, 4096)
SELECTOR = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class KeyPair:
    algorithm: str
    private: bytes
    public: str


def generate(algorithm: str = RSA_SHA256, bits: int = 2048) -> KeyPair:
    if algorithm == RSA_SHA256:
        if bits not in RSA_BITS:
            raise ValueError(f"RSA keys have one of {RSA_BITS} bits.")
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        public_der = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        secret = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    elif algorithm == ED25519_SHA256:
        key = ed25519.Ed25519PrivateKey.generate()
        public_der = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        secret = base64.b64encode(
            key.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
        )
    else:
        raise ValueError(f"Unknown DKIM algorithm {algorithm!r}.")
    return KeyPair(algorithm, secret, base64.b64encode(public_der).decode())


def public_of(algorithm: str, private: bytes) -> str:
    """The ``p=`` value of a private key as dkimpy takes it (checks that it parses)."""
    if algorithm == RSA_SHA256:
        # OpenSSL's own check of an RSA key tests p and q for primality: ~50 ms, more than
        # making the key, paid again on every resync of every domain. A signature made and
        # verified proves the key signs what its public half checks, in ~1 ms.
        key = serialization.load_pem_private_key(
            private, password=None, unsafe_skip_rsa_key_validation=True
        )
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("Not an RSA private key.")
        _prove(key)
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    elif algorithm == ED25519_SHA256:
        seed = base64.b64decode(private, validate=True)
        der = (
            ed25519.Ed25519PrivateKey.from_private_bytes(seed)
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
    else:
        raise ValueError(f"Unknown DKIM algorithm {algorithm!r}.")
    return base64.b64encode(der).decode()


def _prove(key: rsa.RSAPrivateKey) -> None:
    probe = b"facteur dkim key check"
    scheme = padding.PKCS1v15(), hashes.SHA256()
    try:
        key.public_key().verify(key.sign(probe, *scheme), probe, *scheme)
    except (InvalidSignature, ValueError) as exc:
        raise ValueError("The RSA key does not verify its own signature.") from exc


def txt_value(algorithm: str, public: str) -> str:
    """The TXT record value at ``<selector>._domainkey.<domain>``."""
    k = "rsa" if algorithm == RSA_SHA256 else "ed25519"
    return f"v=DKIM1; k={k}; p={public}"
