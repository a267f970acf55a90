"""Writes on domains, mailboxes, aliases and accesses (shared by the API, the CLI and,
through the internal API, the operator)."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from facteur.domains import dkimkeys
from facteur.domains.models import (
    DkimAlgorithm,
    DkimKey,
    Mailbox,
    MailboxAccess,
    MailboxAlias,
    MailboxKind,
    MailboxRole,
    MailDomain,
    MailDomainAdmin,
)
from facteur.domains.selectors import address_taken
from facteur.domains.validation import clean_domain_name, clean_local_part
from facteur.search.services import search_mailbox_deleted
from facteur.users.models import User


def domain_create(*, name: str, managed: bool = False) -> MailDomain:
    """A new domain; its DKIM key is generated on first use (``dkim_key_ensure``)."""
    clean = clean_domain_name(name)
    if MailDomain.objects.filter(name=clean).exists():
        raise ValidationError(f"The domain {clean} already exists.", code="duplicate")
    return MailDomain.objects.create(name=clean, managed=managed)


# --- DKIM keys -------------------------------------------------------------------
_SELECTOR = dkimkeys.SELECTOR
_RSA_BITS = dkimkeys.RSA_BITS


def _fernet() -> Fernet:
    """FACTEUR_DKIM_ENCRYPTION_KEY, or a key derived from SECRET_KEY (HKDF-SHA256)."""
    configured = settings.FACTEUR_DKIM_ENCRYPTION_KEY
    if configured:
        return Fernet(configured.encode())
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"facteur-dkim-private-keys"
    ).derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _default_selector(domain: MailDomain) -> str:
    """FACTEUR_DKIM_SELECTOR plus the month (``facteur-202611``), ``-2``... when taken."""
    base = f"{settings.FACTEUR_DKIM_SELECTOR}-{timezone.now():%Y%m}".lower()
    taken = set(DkimKey.objects.filter(domain=domain).values_list("selector", flat=True))
    selector, n = base, 1
    while selector in taken:
        n += 1
        selector = f"{base}-{n}"
    return selector


@transaction.atomic
def dkim_key_generate(
    *,
    domain: MailDomain,
    algorithm: str = DkimAlgorithm.RSA_SHA256,
    bits: int = 2048,
    selector: str | None = None,
) -> DkimKey:
    """A new active key for ``domain``; the previous active key is deactivated (rotation)."""
    if algorithm not in DkimAlgorithm.values:
        raise ValidationError(f"Unknown DKIM algorithm {algorithm!r}.", code="invalid")
    if algorithm == DkimAlgorithm.RSA_SHA256 and bits not in _RSA_BITS:
        raise ValidationError(f"RSA keys have one of {_RSA_BITS} bits.", code="invalid")
    selector = (selector or _default_selector(domain)).lower()
    if not _SELECTOR.match(selector):
        raise ValidationError(f"{selector!r} is not a valid DKIM selector.", code="invalid")
    if DkimKey.objects.filter(domain=domain, selector=selector).exists():
        raise ValidationError(
            f"The selector {selector} is already used for {domain.name}.", code="duplicate"
        )
    pair = dkimkeys.generate(algorithm, bits)
    DkimKey.objects.filter(domain=domain, is_active=True).update(is_active=False)
    return DkimKey.objects.create(
        domain=domain,
        selector=selector,
        algorithm=algorithm,
        private_key_encrypted=_fernet().encrypt(pair.private).decode(),
        public_key=pair.public,
        is_active=True,
    )


def dkim_key_active(*, domain: MailDomain) -> DkimKey | None:
    return DkimKey.objects.filter(domain=domain, is_active=True).first()


@transaction.atomic
def dkim_key_ensure(*, domain: MailDomain) -> DkimKey | None:
    """The active key; generated now (RSA 2048) when the domain has never had one.

    Keys are made on first use rather than in ``domain_create``: an RSA key takes
    40-100 ms, too much for every domain a test (or a bulk import) creates. A domain
    whose keys were all deactivated has signing turned off: None.
    """
    key = dkim_key_active(domain=domain)
    if key is not None:
        return key
    # Two first uses at once (two sending workers) must not both generate a key.
    MailDomain.objects.select_for_update().filter(pk=domain.pk).first()
    if DkimKey.objects.filter(domain=domain).exists():
        return dkim_key_active(domain=domain)
    return dkim_key_generate(domain=domain)


def dkim_key_private(*, key: DkimKey) -> bytes:
    """The decrypted private key as dkimpy takes it (PEM for RSA, base64 seed for Ed25519)."""
    return _fernet().decrypt(key.private_key_encrypted.encode())


def dkim_txt_value(*, key: DkimKey) -> str:
    """The TXT record value at ``<selector>._domainkey.<domain>``."""
    return dkimkeys.txt_value(key.algorithm, key.public_key)


def domain_admin_add(*, domain: MailDomain, user: User) -> MailDomainAdmin:
    admin, _ = MailDomainAdmin.objects.get_or_create(domain=domain, user=user)
    return admin


def domain_admin_remove(*, domain: MailDomain, user: User) -> None:
    MailDomainAdmin.objects.filter(domain=domain, user=user).delete()


@transaction.atomic
def mailbox_create(
    *,
    domain: MailDomain,
    local_part: str,
    kind: str = MailboxKind.PERSONAL,
    display_name: str = "",
    managed: bool = False,
) -> Mailbox:
    local = clean_local_part(local_part)
    if kind not in MailboxKind.values:
        raise ValidationError(f"Unknown mailbox kind {kind!r}.", code="invalid")
    if address_taken(domain=domain, local_part=local):
        raise ValidationError(f"The address {local}@{domain.name} is taken.", code="duplicate")
    return Mailbox.objects.create(
        domain=domain, local_part=local, kind=kind, display_name=display_name, managed=managed
    )


@transaction.atomic
def alias_create(
    *, mailbox: Mailbox, local_part: str, domain: MailDomain | None = None
) -> MailboxAlias:
    target_domain = domain or mailbox.domain
    local = clean_local_part(local_part)
    if address_taken(domain=target_domain, local_part=local):
        raise ValidationError(
            f"The address {local}@{target_domain.name} is taken.", code="duplicate"
        )
    return MailboxAlias.objects.create(domain=target_domain, local_part=local, mailbox=mailbox)


def access_grant(*, mailbox: Mailbox, user: User, role: str) -> MailboxAccess:
    """Give ``user`` ``role`` on ``mailbox``; an existing access changes role."""
    if role not in MailboxRole.values:
        raise ValidationError(f"Unknown role {role!r}.", code="invalid")
    access, _ = MailboxAccess.objects.update_or_create(
        mailbox=mailbox, user=user, defaults={"role": role}
    )
    return access


def access_update(*, access: MailboxAccess, role: str) -> MailboxAccess:
    if role not in MailboxRole.values:
        raise ValidationError(f"Unknown role {role!r}.", code="invalid")
    _ensure_an_admin_remains(access, new_role=role)
    access.role = role
    access.save(update_fields=["role"])
    return access


def access_revoke(*, access: MailboxAccess) -> None:
    _ensure_an_admin_remains(access, new_role=None)
    access.delete()


def _ensure_an_admin_remains(access: MailboxAccess, *, new_role: str | None) -> None:
    # A shared mailbox left without an admin can only be rescued by a domain admin.
    if access.role != MailboxRole.ADMIN or new_role == MailboxRole.ADMIN:
        return
    others = MailboxAccess.objects.filter(mailbox_id=access.mailbox_id, role=MailboxRole.ADMIN)
    if (
        not others.exclude(pk=access.pk).exists()
        and access.mailbox.kind == MailboxKind.SHARED
        and not access.mailbox.domain.admins.exists()
    ):
        raise ValidationError(
            "This is the mailbox's last admin and its domain has no admin.",
            code="last_admin",
        )


def _plural(count: int, word: str, suffix: str = "s") -> str:
    return f"{count} {word}{suffix if count != 1 else ''}"


@transaction.atomic
def domain_delete(*, domain: MailDomain) -> None:
    """Delete an empty domain; mailboxes and aliases must go first, on purpose."""
    count = domain.mailboxes.count()
    if count:
        raise ValidationError(
            f"The domain {domain.name} still has {_plural(count, 'mailbox', 'es')}: "
            "delete them first.",
            code="not_empty",
        )
    # An alias in this domain may deliver to a mailbox of another domain.
    aliases = sorted(alias.address for alias in domain.aliases.select_related("domain"))
    if aliases:
        raise ValidationError(
            f"The domain {domain.name} still has aliases ({', '.join(aliases)}): "
            "remove them first.",
            code="not_empty",
        )
    domain.delete()  # its admins go with it


@transaction.atomic
def mailbox_delete(*, mailbox: Mailbox, delete_mail: bool = False) -> None:
    """Delete a mailbox; one that holds mail only when ``delete_mail`` says so.

    Threads, messages, labels, accesses and aliases go with it; the blobs they
    used are left to the blob garbage collector.
    """
    count = mailbox.messages.count()
    if count and not delete_mail:
        raise ValidationError(
            f"The mailbox {mailbox.address} holds {_plural(count, 'message')}; "
            "deleting it would delete them.",
            code="not_empty",
        )
    search_mailbox_deleted(mailbox_id=mailbox.pk)  # its mail goes by cascade, not by hooks
    mailbox.delete()


def alias_delete(*, alias: MailboxAlias) -> None:
    alias.delete()
