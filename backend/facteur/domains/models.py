"""Mail domains, their mailboxes and who may use them.

The single-machine counterpart of the operator's MailDomain / Mailbox custom
resources: ``managed`` marks records the operator owns (read-only elsewhere).
"""

import uuid

from django.conf import settings
from django.db import models


class MailDomain(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=253, unique=True)
    managed = models.BooleanField(default=False)
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
