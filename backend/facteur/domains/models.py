"""Mail domains, their mailboxes and who may use them.

The single-machine counterpart of the operator's MailDomain / Mailbox custom
resources: ``managed`` marks records the operator owns (read-only elsewhere).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class MailDomain(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=253, unique=True)
    managed = models.BooleanField(default=False)
    # Disabled (its MailDomain deleted with deletionPolicy Retain): no mail in or out for
    # any of its mailboxes; everything stored stays readable.
    is_disabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class MailDomainAdmin(models.Model):
    """A domain administrator manages mailboxes and accesses; reading mail needs a MailboxAccess."""

    domain = models.ForeignKey(MailDomain, on_delete=models.CASCADE, related_name="admins")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="administered_domains"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["domain", "user"], name="maildomainadmin_unique")
        ]


class MailboxKind(models.TextChoices):
    PERSONAL = "personal"
    SHARED = "shared"


class Mailbox(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    domain = models.ForeignKey(MailDomain, on_delete=models.PROTECT, related_name="mailboxes")
    local_part = models.CharField(max_length=64)
    kind = models.CharField(
        max_length=10, choices=MailboxKind.choices, default=MailboxKind.PERSONAL
    )
    display_name = models.CharField(max_length=200, blank=True)
    managed = models.BooleanField(default=False)
    # Disabled (its Mailbox deleted with deletionPolicy Retain): refuses inbound mail and
    # sends nothing; its mail stays readable by those with access.
    is_disabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["domain", "local_part"], name="mailbox_address_unique")
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        return f"{self.local_part}@{self.domain.name}"

    @property
    def accepts_mail(self) -> bool:
        """Neither it nor its domain is disabled."""
        return not (self.is_disabled or self.domain.is_disabled)


class MailboxAlias(models.Model):
    """Another address delivered to the same mailbox."""

    domain = models.ForeignKey(MailDomain, on_delete=models.CASCADE, related_name="aliases")
    local_part = models.CharField(max_length=64)
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="aliases")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["domain", "local_part"], name="alias_address_unique")
        ]

    @property
    def address(self) -> str:
        return f"{self.local_part}@{self.domain.name}"


class MailboxRole(models.TextChoices):
    """Each role includes the ones before it."""

    VIEWER = "viewer"  # read
    EDITOR = "editor"  # flags, labels, drafts, sharing threads
    SENDER = "sender"  # send as the mailbox
    ADMIN = "admin"  # manage who has access

    @classmethod
    def rank(cls, role: str) -> int:
        return [cls.VIEWER, cls.EDITOR, cls.SENDER, cls.ADMIN].index(cls(role))

    @classmethod
    def at_least(cls, role: str) -> list[str]:
        return [r.value for r in cls if cls.rank(r) >= cls.rank(role)]


class MailboxAccess(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailbox_accesses"
    )
    role = models.CharField(max_length=10, choices=MailboxRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "user"], name="mailboxaccess_unique")
        ]
        indexes = [models.Index(fields=["user", "role"], name="mailboxaccess_user_role")]


class DkimAlgorithm(models.TextChoices):
    RSA_SHA256 = "rsa-sha256"
    ED25519_SHA256 = "ed25519-sha256"


class DkimKey(models.Model):
    """A domain's DKIM signing key; the private key is Fernet-encrypted at rest.

    ``public_key`` is what the ``p=`` tag of the DNS record carries: base64 of the
    SubjectPublicKeyInfo DER for RSA, of the raw 32-byte key for Ed25519 (RFC 8463).
    Rotation adds a key with a new selector and deactivates the old one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    domain = models.ForeignKey(MailDomain, on_delete=models.CASCADE, related_name="dkim_keys")
    selector = models.CharField(max_length=63)
    algorithm = models.CharField(
        max_length=20, choices=DkimAlgorithm.choices, default=DkimAlgorithm.RSA_SHA256
    )
    private_key_encrypted = models.TextField()
    public_key = models.TextField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["domain"], condition=Q(is_active=True), name="dkimkey_one_active"
            ),
            models.UniqueConstraint(fields=["domain", "selector"], name="dkimkey_selector_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.selector}._domainkey.{self.domain.name}"
